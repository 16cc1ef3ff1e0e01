// Start the real `bin/gatehouse` as a child process on free loopback ports with a fresh data
// directory, wait for GET /healthz, and stop it with SIGTERM.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeUdpPort } from './freeradius.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const GATEHOUSE = join(ROOT, 'bin', 'gatehouse');

export function freeTcpPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function tempDir(prefix = 'gatehouse-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

export interface Appliance {
  radiusPort: number;
  httpPort: number;
  dataDir: string;
  child: ChildProcess;
  output(): string;
  /** Standard output alone (the audit feed's JSON lines with --audit-stdout yes). */
  stdout(): string;
  /** Run a sub-command against the same data directory. */
  cli(args: string[], stdin?: string): Promise<CliResult>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Poll `fn` every 50 ms until it gives something other than undefined or false. */
export async function waitFor<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The audit log as `gatehouse audit export` gives it (JSON lines), parsed. */
export async function auditRecords(gh: Appliance): Promise<Record<string, unknown>[]> {
  const res = await gh.cli(['audit', 'export']);
  if (res.code !== 0) throw new Error(`gatehouse audit export failed (exit ${res.code}): ${res.stderr}`);
  return res.stdout
    .trim()
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A counter or gauge from the appliance's /metrics, e.g. `drops_total{reason="malformed"}` (0 when absent). */
export async function metric(gh: Appliance, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${gh.httpPort}/metrics`)).text();
  const escaped = name.replace(/[{}"]/g, (c) => `\\${c}`);
  const m = new RegExp(`^gatehouse_${escaped} (\\d+)$`, 'm').exec(text);
  return m === null ? 0 : Number(m[1]);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function runCli(args: string[], opts: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [GATEHOUSE, ...args], { env: { PATH: process.env['PATH'], ...opts.env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.stdin ?? '');
  });
}

export interface StartOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv;
  dataDir?: string;
  /** Set to false to pass --port-in / --http-port yourself. */
  ports?: boolean;
  /** Another build's bin/gatehouse (the benchmark's BENCH_GATEHOUSE_BIN). */
  bin?: string;
  /** Node flags before the script (e.g. --cpu-prof, which NODE_OPTIONS does not allow). */
  nodeArgs?: string[];
  /** How long to wait for /healthz (default 15 s; a large store takes longer). */
  readyMs?: number;
  /** Picks the RADIUS (UDP) and HTTP (TCP) ports for each try; the starter's own test hands out taken ones. */
  pickPorts?: () => Promise<{ radius: number; http: number }>;
}

const pickFreePorts = async () => ({ radius: await freeUdpPort(), http: await freeTcpPort() });

export async function startAppliance(opts: StartOptions = {}): Promise<Appliance> {
  const dataDir = opts.dataDir ?? (await tempDir());
  // Auto-picked ports can be taken between probing and binding (by another test or process):
  // when gatehouse exits because one of them is in use, try again with new ones, as the
  // FreeRADIUS starter does.
  const attempts = opts.ports === false ? 1 : 3;
  for (let i = 1; ; i++) {
    const { radius: radiusPort, http: httpPort } = await (opts.pickPorts ?? pickFreePorts)();
    try {
      return await launchAppliance(opts, dataDir, radiusPort, httpPort);
    } catch (err) {
      const clash = err instanceof PortClash && (err.port === radiusPort || err.port === httpPort);
      if (!clash || i >= attempts) {
        if (opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
        throw err;
      }
    }
  }
}

/** Start gatehouse where it must refuse to start; resolves with its error (it is stopped if it started). */
export async function startApplianceRefused(opts: StartOptions = {}): Promise<Error> {
  let gh: Appliance;
  try {
    gh = await startAppliance(opts);
  } catch (e) {
    return e as Error;
  }
  await gh.stop();
  throw new Error(`gatehouse started with ${JSON.stringify(opts.args ?? [])}, but it should have refused`);
}

/** gatehouse exited at start because a port it was told to use is taken. */
class PortClash extends Error {
  constructor(
    message: string,
    readonly port: number,
  ) {
    super(message);
  }
}

async function launchAppliance(opts: StartOptions, dataDir: string, radiusPort: number, httpPort: number): Promise<Appliance> {
  const args = ['serve', '--data-dir', dataDir, ...(opts.ports === false ? [] : ['--port-in', String(radiusPort), '--http-port', String(httpPort)]), ...(opts.args ?? [])];
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), opts.bin ?? GATEHOUSE, ...args], { env: { PATH: process.env['PATH'], ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let stdout = '';
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const closed = new Promise<void>((r) => child.on('close', () => r()));
  const readyMs = opts.readyMs ?? 15_000;
  const deadline = Date.now() + readyMs;
  for (;;) {
    if (child.exitCode !== null) {
      await closed; // all of its output
      const message = `gatehouse exited with ${child.exitCode} before it was ready:\n${out}`;
      const inUse = /EADDRINUSE\b.*?:(\d+)\s*$/m.exec(out);
      throw inUse === null ? new Error(message) : new PortClash(message, Number(inUse[1]));
    }
    try {
      // Bounded: whatever else holds a clashing port may never answer.
      const res = await fetch(`http://127.0.0.1:${httpPort}/healthz`, { signal: AbortSignal.timeout(2000) });
      if (res.status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`gatehouse not ready within ${readyMs / 1000} s:\n${out}`);
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
    stdout: () => stdout,
    cli: (a, stdin) => runCli([...a, '--data-dir', dataDir], stdin === undefined ? {} : { stdin }),
    stop(signal = 'SIGTERM') {
      stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null && !child.killed) child.kill(signal);
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        const code = await exited;
        clearTimeout(timer);
        if (opts.dataDir === undefined) await rm(dataDir, { recursive: true, force: true });
        return code;
      })();
      return stopped;
    },
  };
}
