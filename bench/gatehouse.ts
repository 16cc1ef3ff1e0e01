// Start `bin/gatehouse serve` for the benchmark, like test/helpers/appliance.ts but with Node
// flags of its own (--cpu-prof is not allowed in NODE_OPTIONS) and an existing data directory.
import { spawn } from 'node:child_process';
import { freeTcpPort, GATEHOUSE, type Appliance } from '../test/helpers/appliance.js';
import { freeUdpPort } from '../test/helpers/freeradius.js';

/** BENCH_GATEHOUSE_BIN runs another build (e.g. a copy of the checkout with a change to try). */
export const GATEHOUSE_BIN = process.env['BENCH_GATEHOUSE_BIN'] || GATEHOUSE;

/** BENCH_GATEHOUSE_ENV="K=V,K2=V2" adds variables to Gatehouse's environment (to A/B a switch). */
export function extraEnv(): Record<string, string> {
  const spec = process.env['BENCH_GATEHOUSE_ENV'] ?? '';
  return Object.fromEntries(
    spec
      .split(',')
      .filter((kv) => kv.includes('='))
      .map((kv) => [kv.slice(0, kv.indexOf('=')).trim(), kv.slice(kv.indexOf('=') + 1)]),
  );
}

export async function startGatehouse(dataDir: string, args: string[], nodeArgs: string[] = []): Promise<Appliance> {
  const radiusPort = await freeUdpPort();
  const httpPort = await freeTcpPort();
  const child = spawn(process.execPath, [...nodeArgs, GATEHOUSE_BIN, 'serve', '--data-dir', dataDir, '--port-in', String(radiusPort), '--http-port', String(httpPort), ...args], {
    env: { PATH: process.env['PATH'], ...extraEnv() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`gatehouse exited with ${child.exitCode} before it was ready:\n${out}`);
    try {
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`);
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gatehouse not ready within 20 s:\n${out}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  let stopped: Promise<number | null> | undefined;
  return {
    radiusPort,
    httpPort,
    dataDir,
    child,
    output: () => out,
    cli: () => Promise.reject(new Error('not available in the bench')),
    stop() {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
        const code = await exited;
        clearTimeout(timer);
        return code;
      })();
      return stopped;
    },
  };
}
