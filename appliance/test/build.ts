// What both image tests do first: check the tools, then run a build script that reuses an image
// of the same sources (`--if-changed`), printing its summary lines. uvu does not print an error
// thrown by a before hook, so every failure is written out here before it is thrown.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../../test/helpers/appliance.js';

function runBuild(script: string, env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('bash', [join(ROOT, 'scripts', script), '--if-changed'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 9 * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`scripts/${script} failed (exit ${code}):\n${out.slice(-4000)}`));
    });
  });
}

/** Check the tools, then build (or reuse) the image with `scripts/<script>`. */
export async function prepareImage(requireTools: () => void, script: string, env: NodeJS.ProcessEnv = {}): Promise<void> {
  try {
    requireTools();
    const log = await runBuild(script, env);
    process.stdout.write(log.split('\n').filter((l) => /built|up to date|cached/.test(l)).map((l) => `  ${l}\n`).join(''));
  } catch (e) {
    process.stdout.write(`\n${(e as Error).message}\n`);
    throw e;
  }
}
