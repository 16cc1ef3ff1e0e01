// `npm run bench`: Gatehouse against a FreeRADIUS 3.2.1 pure proxy, side by side, in one run, on
// loopback, in front of the same downstream FreeRADIUS. A report, never an assertion: figures are
// printed as a table and written to bench/results/latest.json, ratios against the reference
// measured in the same run.
//
// Phases (see BENCHMARKS.md):
//   1. setup: downstream FreeRADIUS (users u*, t*), Gatehouse store with t* enrolled for TOTP,
//      FreeRADIUS proxy, Gatehouse, load generator (a child process)
//   2. throughput rounds (closed loop, 256 in flight): FreeRADIUS proxy PAP, Gatehouse PAP,
//      Gatehouse PAP+appended TOTP, in alternating order, ROUNDS times
//   3. same-load rounds: both at one fixed rate, to compare latency at the same load
//   4. CPU profiles of Gatehouse under PAP and TOTP load (node --cpu-prof), summarised
//   5. cold start to RADIUS and HTTP ready on the (now large) existing store, and idle RSS
//   6. optional: 10,000 logins pending on push at once (BENCH_PENDING=0 skips it), through the
//      Notakey-compatible API, and 7. the same on Gatehouse's own approver (phones sign approvals)
//
// Environment: BENCH_ROUNDS (5), BENCH_REQUESTS (20000), BENCH_INFLIGHT (256), BENCH_SOCKETS (8),
// BENCH_PENDING (10000; 0 = skip), BENCH_PROFILE (1; 0 = skip), BENCH_QUICK=1 (small, for a smoke run),
// BENCH_ONLY=pending (only phases 6 and 7, in front of a downstream FreeRADIUS; results in pending.json;
// BENCH_PENDING_PROVIDERS=notakey or gatehouse for one of them), BENCH_STORE=postgres (Gatehouse on PostgreSQL;
// results in latest-postgres.json).
import { execFileSync, fork, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, freemem, totalmem, release } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../app/db/open.js';
import { createUserFactorQueries, replaceTotpAccount } from '../app/db/queries/users.js';
import type { Store } from '../app/db/open.js';
import { createSealer, loadMasterKey, type Sealer } from '../app/db/secrets.js';
import { tempDir, freeTcpPort, GATEHOUSE, type Appliance } from '../test/helpers/appliance.js';
import { extraEnv, GATEHOUSE_BIN, startGatehouse, storeEnv } from './gatehouse.js';
import { startPostgres, type Postgres } from '../test/helpers/postgres.js';
import { freeUdpPort, startFreeRadius, type FreeRadius } from '../test/helpers/freeradius.js';
import { startFreeRadiusProxy, type FreeRadiusProxy } from '../test/helpers/freeradius-proxy.js';
import { analyse, formatSummary, type ProfileSummary } from './cpuprofile.js';
import { benchPassword, totpSeed, type FromChild, type Job, type JobResult, type ToChild } from './loadgen.js';
import { runPending, type PendingResult } from './pending.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const RESULTS = join(HERE, 'results');
const env = (name: string, dflt: number) => (process.env[name] !== undefined && process.env[name] !== '' ? Number(process.env[name]) : dflt);
const QUICK = process.env['BENCH_QUICK'] === '1';
/**
 * BENCH_STORE=postgres: Gatehouse's store on a local PostgreSQL from Debian (durable commits, as in
 * production), the bench's SQLite store copied into it with `gatehouse store migrate`; results in
 * latest-postgres.json. The pending phases do not touch the store and are left out.
 */
const STORE: 'sqlite' | 'postgres' = process.env['BENCH_STORE'] === 'postgres' ? 'postgres' : 'sqlite';
const CFG = {
  rounds: env('BENCH_ROUNDS', QUICK ? 2 : 5),
  requests: env('BENCH_REQUESTS', QUICK ? 4000 : 10_000),
  warmup: QUICK ? 1000 : 3000,
  inflight: env('BENCH_INFLIGHT', 256),
  sockets: env('BENCH_SOCKETS', 8),
  timeoutMs: 3000,
  maxMs: 60_000,
  sameLoadRounds: QUICK ? 1 : 2,
  sameLoadFraction: 0.75,
  pending: env('BENCH_PENDING', QUICK ? 1000 : 10_000),
  pendingCreateWaitMs: 30_000,
  profile: env('BENCH_PROFILE', 1) === 1,
  coldStarts: env('BENCH_COLD', QUICK ? 2 : 5),
  coldIdleMs: 1500,
  papUsers: 20_000,
};
const CLIENT_SECRET = 'bench-client-secret';
const DOWN_SECRET = 'bench-downstream-secret';
const TOTP_KEY = randomBytes(32).toString('hex');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;

// ---------------------------------------------------------------------------------------------
// /proc readings

function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}
/** The kernel's count of UDP datagrams dropped for a full receive buffer (all sockets). */
function udpRcvbufErrors(): number {
  const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((l) => l.startsWith('Udp:'));
  const head = lines[0]?.split(/\s+/) ?? [];
  const vals = lines[1]?.split(/\s+/) ?? [];
  return Number(vals[head.indexOf('RcvbufErrors')] ?? NaN);
}
function statusKb(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}
function resetPeak(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
  } catch {
    // not permitted: the peak is then the process's lifetime peak
  }
}
const mb = (kb: number) => Math.round(kb / 102.4) / 10;

// ---------------------------------------------------------------------------------------------
// statistics

function median(xs: number[]): number {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
const spread = (xs: number[]) => ({ min: Math.min(...xs), max: Math.max(...xs) });
const r1 = (x: number) => Math.round(x * 10) / 10;
const r2 = (x: number) => Math.round(x * 100) / 100;

// ---------------------------------------------------------------------------------------------
// the load generator child

class LoadGen {
  private child: ChildProcess;
  private waiting: ((m: FromChild) => void) | undefined;
  constructor() {
    this.child = fork(join(HERE, 'loadgen.ts'), ['--loadgen-child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.child.on('message', (m: FromChild) => {
      const w = this.waiting;
      this.waiting = undefined;
      w?.(m);
    });
  }
  get pid(): number {
    return this.child.pid!;
  }
  private ask(m: ToChild): Promise<FromChild> {
    return new Promise((resolve, reject) => {
      this.waiting = (r) => (r.type === 'error' ? reject(new Error(`load generator: ${r.message}`)) : resolve(r));
      this.child.send(m);
    });
  }
  /** Prepare the job, then take readings of `watch` around the timed part only. */
  async run(job: Job, watch: number[]): Promise<{ result: JobResult; cpuMs: number[]; peakKb: number[]; udpDrops: number }> {
    await this.ask({ type: 'prepare', job });
    for (const pid of watch) resetPeak(pid);
    const before = watch.map(cpuMs);
    const drops0 = udpRcvbufErrors();
    const done = await this.ask({ type: 'go' });
    const after = watch.map(cpuMs);
    const udpDrops = udpRcvbufErrors() - drops0;
    if (done.type !== 'done') throw new Error('load generator: unexpected reply');
    return { result: done.result, cpuMs: after.map((a, i) => a - before[i]!), peakKb: watch.map((p) => statusKb(p, 'VmHWM')), udpDrops };
  }
  close(): void {
    if (this.child.connected) this.child.send({ type: 'exit' } satisfies ToChild);
  }
}

// ---------------------------------------------------------------------------------------------
// measurements

type TargetName = 'freeradius' | 'gatehouse' | 'relay';
type PathName = 'pap' | 'totp';

interface Measurement {
  phase: 'throughput' | 'same_load';
  round: number;
  target: TargetName;
  path: PathName;
  rate: number | null;
  requests: number;
  answered: number;
  accepts: number;
  rejects: number;
  timeouts: number;
  badAuthenticator: number;
  /** Datagrams the kernel dropped for a full receive buffer during the run (any socket). */
  udpRcvbufDrops: number;
  rps: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  cpuUsPerReq: number;
  downstreamCpuUsPerReq: number;
  loadgenCpuPct: number;
  peakRssMb: number;
}

interface Targets {
  fr: FreeRadiusProxy;
  gh: Appliance;
  /** The floor: a bare Node.js relay (bench/relay.ts), PAP only. */
  relay: Relay;
  down: FreeRadius;
  downPid: number;
}

let totpNext = 0;
function job(port: number, path: PathName, requests: number, rate?: number): Job {
  const users = path === 'pap' ? { prefix: 'u', start: 0, modulo: CFG.papUsers } : { prefix: 't', start: totpNext, modulo: requests };
  if (path === 'totp') totpNext += requests;
  return { host: '127.0.0.1', port, secret: CLIENT_SECRET, kind: path, users, requests, inflight: CFG.inflight, sockets: CFG.sockets, timeoutMs: CFG.timeoutMs, maxMs: CFG.maxMs, totpKey: TOTP_KEY, ...(rate ? { rate } : {}) };
}

async function measure(lg: LoadGen, t: Targets, phase: Measurement['phase'], round: number, target: TargetName, path: PathName, requests: number, rate?: number): Promise<Measurement> {
  const pid = target === 'freeradius' ? t.fr.pid : target === 'relay' ? t.relay.child.pid! : t.gh.child.pid!;
  const port = target === 'freeradius' ? t.fr.port : target === 'relay' ? t.relay.port : t.gh.radiusPort;
  const { result: r, cpuMs: cpu, peakKb, udpDrops } = await lg.run(job(port, path, requests, rate), [pid, t.downPid, lg.pid]);
  const m: Measurement = {
    phase,
    round,
    target,
    path,
    rate: rate ?? null,
    requests,
    answered: r.answered,
    accepts: r.accepts,
    rejects: r.rejects,
    timeouts: r.timeouts,
    badAuthenticator: r.badAuthenticator,
    udpRcvbufDrops: udpDrops,
    rps: Math.round(r.rps),
    p50Ms: r2(r.latencyMs.p50),
    p90Ms: r2(r.latencyMs.p90),
    p99Ms: r2(r.latencyMs.p99),
    maxMs: r2(r.latencyMs.max),
    cpuUsPerReq: r1((cpu[0]! * 1000) / Math.max(1, r.answered)),
    downstreamCpuUsPerReq: r1((cpu[1]! * 1000) / Math.max(1, r.answered)),
    loadgenCpuPct: Math.round((100 * r.loadgenCpuMs) / r.elapsedMs),
    peakRssMb: mb(peakKb[0]!),
  };
  const flag = m.accepts !== requests ? `  !! accepts ${m.accepts}/${requests} rejects ${m.rejects} timeouts ${m.timeouts} bad ${m.badAuthenticator} kernel rcvbuf drops ${m.udpRcvbufDrops}` : '';
  log(`  ${phase} r${round} ${target.padEnd(10)} ${path.padEnd(4)}${rate ? ` @${rate}/s` : ''}: ${m.rps} req/s  p50 ${m.p50Ms} ms  p99 ${m.p99Ms} ms  cpu ${m.cpuUsPerReq} us/req  peak ${m.peakRssMb} MB  (downstream ${m.downstreamCpuUsPerReq} us/req, loadgen ${m.loadgenCpuPct}% cpu)${flag}`);
  return m;
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

interface Relay {
  child: ChildProcess;
  port: number;
  stop(): Promise<void>;
}

/** bench/relay.ts in front of the downstream server: the floor of a RADIUS proxy in Node.js. */
async function startRelay(downPort: number): Promise<Relay> {
  const port = await freeUdpPort();
  const child = spawn(process.execPath, ['--import', 'tsx', join(HERE, 'relay.ts'), String(port), CLIENT_SECRET, String(downPort), DOWN_SECRET], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => d.toString().includes('ready') && resolve());
    void exited.then(() => reject(new Error('bench/relay.ts exited before it was ready')));
  });
  return {
    child,
    port,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// cold start

function statusServer(port: number, secret: string, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const sock = dgram.createSocket('udp4');
    const auth = randomBytes(16);
    const wire = Buffer.alloc(38);
    wire[0] = 12;
    wire[1] = auth[0]!;
    wire.writeUInt16BE(38, 2);
    auth.copy(wire, 4);
    wire[20] = 80;
    wire[21] = 18;
    createHmac('md5', secret).update(wire).digest().copy(wire, 22);
    const timer = setTimeout(() => done(false), timeoutMs);
    const done = (ok: boolean) => {
      clearTimeout(timer);
      sock.close();
      resolve(ok);
    };
    sock.on('message', (b) => done(b[1] === wire[1]));
    sock.on('error', () => done(false));
    sock.send(wire, port, '127.0.0.1');
  });
}

async function httpOk(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(200) });
    await r.arrayBuffer();
    return r.status === 200;
  } catch {
    return false;
  }
}

async function untilTrue(probe: () => Promise<boolean>, t0: number, deadlineMs: number, pauseMs: number): Promise<number> {
  while (performance.now() - t0 < deadlineMs) {
    if (await probe()) return performance.now() - t0;
    await new Promise((r) => setTimeout(r, pauseMs));
  }
  return NaN;
}

interface ColdStart {
  target: TargetName;
  radiusReadyMs: number;
  httpReadyMs: number | null;
  idleRssMb: number;
}

async function coldStartGatehouse(dataDir: string, downPort: number): Promise<ColdStart> {
  const radiusPort = await freeUdpPort();
  const httpPort = await freeTcpPort();
  const t0 = performance.now();
  const child = spawn(process.execPath, [GATEHOUSE_BIN, 'serve', '--data-dir', dataDir, '--port-in', String(radiusPort), '--http-port', String(httpPort), ...ghArgs(downPort)], { env: { PATH: process.env['PATH'], ...extraEnv(), ...storeEnv }, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.on('exit', () => r()));
  try {
    // One probe at a time, as for FreeRADIUS: the web side starts after RADIUS answers (by design),
    // and an HTTP probe beside the RADIUS one would take CPU from the start being measured on this
    // 2-core machine. HTTP is probed from the moment RADIUS answered, every 2 ms.
    const radiusReadyMs = await untilTrue(() => statusServer(radiusPort, CLIENT_SECRET, 20), t0, 15_000, 1);
    const httpReadyMs = Number.isNaN(radiusReadyMs) ? NaN : await untilTrue(() => httpOk(httpPort), t0, 15_000, 2);
    if (Number.isNaN(radiusReadyMs) || Number.isNaN(httpReadyMs)) throw new Error(`gatehouse did not get ready: ${err}`);
    await new Promise((r) => setTimeout(r, CFG.coldIdleMs));
    return { target: 'gatehouse', radiusReadyMs: r1(radiusReadyMs), httpReadyMs: r1(httpReadyMs), idleRssMb: mb(statusKb(child.pid!, 'VmRSS')) };
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

async function coldStartFreeRadius(downPort: number): Promise<ColdStart> {
  const port = await freeUdpPort();
  const t0 = performance.now();
  const readyP = untilTrue(() => statusServer(port, CLIENT_SECRET, 20), t0, 15_000, 1);
  const fr = await startFreeRadiusProxy({ port, clients: [{ address: '127.0.0.1', secret: CLIENT_SECRET }], home: { address: '127.0.0.1', port: downPort, secret: DOWN_SECRET } });
  try {
    const radiusReadyMs = await readyP;
    await new Promise((r) => setTimeout(r, CFG.coldIdleMs));
    return { target: 'freeradius', radiusReadyMs: r1(radiusReadyMs), httpReadyMs: null, idleRssMb: mb(statusKb(fr.pid, 'VmRSS')) };
  } finally {
    await fr.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// setup

function ghArgs(downPort: number): string[] {
  return ['--unenrolled-users', 'allow', '--downstream-address', '127.0.0.1', '--port-out', String(downPort), '--secret-out', DOWN_SECRET, '--address-secret-in', `127.0.0.1:${CLIENT_SECRET}`];
}

function machine(): Record<string, unknown> {
  const cpuModel = /^model name\s*:\s*(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? cpus()[0]?.model ?? 'unknown';
  let freeradius = 'unknown';
  try {
    freeradius = /FreeRADIUS Version [\d.]+/.exec(execFileSync('freeradius', ['-v']).toString())?.[0] ?? 'unknown';
  } catch (e) {
    freeradius = /FreeRADIUS Version [\d.]+/.exec(String((e as { stdout?: Buffer }).stdout ?? ''))?.[0] ?? 'unknown';
  }
  return {
    nproc: Number(execFileSync('nproc').toString().trim()),
    cpuModel,
    memTotalMb: Math.round(totalmem() / 1048576),
    memFreeMbAtStart: Math.round(freemem() / 1048576),
    kernel: release(),
    node: process.version,
    freeradius,
    rmemMax: readFileSync('/proc/sys/net/core/rmem_max', 'utf8').trim(),
  };
}

function dirSizeMb(dir: string): number {
  let total = 0;
  for (const f of readdirSync(dir)) total += statSync(join(dir, f)).size;
  return r1(total / 1048576);
}

/**
 * Enrol t0..t(n-1) with the seeds of totpSeed(). replaceTotpAccount() (what `gatehouse totp enroll`
 * runs) costs about 1 ms per user, as drizzle prepares its statements on every call: it enrols the
 * first users, and the rest go in through prepared INSERTs of the same rows, checked afterwards
 * through the hot path's own query (createUserFactorQueries().find opens the sealed seed).
 */
async function enrollTotpUsers(store: Store, sealer: Sealer, n: number): Promise<void> {
  const params = { algorithm: 'SHA1', digits: 6, period: 30 } as const;
  const viaApi = Math.min(n, 200);
  for (let i = 0; i < viaApi; i++) await replaceTotpAccount(store, sealer, `t${i}`, totpSeed(TOTP_KEY, `t${i}`), params);
  const purpose = 'totp_accounts.seed';
  const insUser = store.sqlite.prepare('INSERT INTO users (username) VALUES (?)');
  const insTotp = store.sqlite.prepare('INSERT INTO totp_accounts (user_id, seed_sealed, algorithm, digits, period) VALUES (?, ?, ?, ?, ?)');
  store.sqlite.transaction(() => {
    for (let i = viaApi; i < n; i++) {
      const id = insUser.run(`t${i}`).lastInsertRowid;
      insTotp.run(id, sealer.seal(totpSeed(TOTP_KEY, `t${i}`), purpose), params.algorithm, params.digits, params.period);
    }
  })();
  const q = createUserFactorQueries(store, sealer);
  for (const i of [0, viaApi - 1, viaApi, n - 1]) {
    const found = await q.find(`t${i}`);
    if (found?.totp == null || !found.totp.seed.equals(totpSeed(TOTP_KEY, `t${i}`))) throw new Error(`bench enrolment of t${i} cannot be read back through createUserFactorQueries`);
  }
}

const PENDING_PROFILE_DIR = join(RESULTS, 'profile-pending');

function pendingPhase(downPort: number, provider: 'notakey' | 'gatehouse' = 'notakey'): Promise<PendingResult> {
  log(`pending approvals: ${CFG.pending} logins waiting on push (${provider === 'notakey' ? 'through the Notakey-compatible API' : "Gatehouse's own approver"})`);
  const profile = process.env['BENCH_PROFILE_PENDING'] === '1';
  if (profile) rmSync(PENDING_PROFILE_DIR, { recursive: true, force: true });
  return runPending({
    count: CFG.pending,
    downPort,
    downSecret: DOWN_SECRET,
    createWaitMs: CFG.pendingCreateWaitMs,
    provider,
    log,
    // BENCH_NODE_ARGS: Node or V8 flags for Gatehouse in this phase (to try GC settings).
    nodeArgs: [
      ...(profile ? ['--cpu-prof', `--cpu-prof-dir=${PENDING_PROFILE_DIR}`] : []),
      ...(process.env['BENCH_HEAPSNAPSHOT'] ? ['--heapsnapshot-signal=SIGUSR2'] : []),
      ...(process.env['BENCH_NODE_ARGS'] ?? '').split(' ').filter((a) => a !== ''),
    ],
  });
}

/** BENCH_ONLY=pending: phase 6 alone (no FreeRADIUS proxy, no TOTP store), to iterate on it. */
async function pendingOnly(started: number, out: Record<string, unknown>): Promise<void> {
  if (!(CFG.pending > 0)) throw new Error('BENCH_ONLY=pending needs BENCH_PENDING > 0');
  const users = Array.from({ length: Math.max(CFG.pending, 1) }, (_, i) => `u${i}`).map((name) => ({ name, password: benchPassword(name) }));
  const down = await startFreeRadius({ users, clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }] });
  try {
    // BENCH_PENDING_PROVIDERS=gatehouse (or notakey) runs one of the two.
    const which = (process.env['BENCH_PENDING_PROVIDERS'] ?? 'notakey,gatehouse').split(',');
    if (which.includes('notakey')) out['pending'] = await pendingPhase(down.port);
    if (which.includes('gatehouse')) out['pendingOwn'] = await pendingPhase(down.port, 'gatehouse');
  } finally {
    await down.stop();
  }
  if (process.env['BENCH_PROFILE_PENDING'] === '1' && existsSync(PENDING_PROFILE_DIR)) {
    const file = readdirSync(PENDING_PROFILE_DIR)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort((a, b) => statSync(join(PENDING_PROFILE_DIR, b)).size - statSync(join(PENDING_PROFILE_DIR, a)).size)[0];
    if (file !== undefined) out['profiles'] = { pending: analyse(join(PENDING_PROFILE_DIR, file), 30) };
  }
  out['durationS'] = Math.round((performance.now() - started) / 1000);
  writeFileSync(join(RESULTS, 'pending.json'), JSON.stringify(out, null, 2) + '\n');
  const lines: string[] = [];
  if (out['pending'] !== undefined) lines.push(`Pending approvals: ${(out['pending'] as PendingResult).summary}`, '');
  if (out['pendingOwn'] !== undefined) lines.push(`Pending approvals, Gatehouse's own approver: ${(out['pendingOwn'] as PendingResult).summary}`);
  const profile = (out['profiles'] as Record<string, ProfileSummary> | undefined)?.['pending'];
  if (profile !== undefined) lines.push('', formatSummary(profile, 'CPU profile, gatehouse pending phase (whole process lifetime)', 20));
  lines.push('', `(${String(out['durationS'])} s; JSON in bench/results/pending.json)`);
  process.stdout.write(lines.join('\n') + '\n');
}

async function main(): Promise<void> {
  const started = performance.now();
  if (!existsSync(GATEHOUSE) || !existsSync(join(HERE, '..', 'dist', 'bundle', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run -s build` first (npm run bench does)');
  }
  mkdirSync(RESULTS, { recursive: true });
  const out: Record<string, unknown> = { startedAt: new Date().toISOString(), machine: machine(), config: { ...CFG, gatehouseBin: GATEHOUSE_BIN, gatehouseEnv: extraEnv() } };
  log(`gatehouse bench: ${JSON.stringify(out['machine'])}`);
  if (process.env['BENCH_ONLY'] === 'pending') return pendingOnly(started, out);
  if (process.env['BENCH_ONLY'] !== undefined && process.env['BENCH_ONLY'] !== '') throw new Error(`BENCH_ONLY=${process.env['BENCH_ONLY']}: only "pending" is known`);

  // Distinct TOTP users for every TOTP request of the run (a code is accepted once per user).
  const totpRequestsPerTarget = CFG.warmup + CFG.rounds * CFG.requests + CFG.sameLoadRounds * Math.round(CFG.requests / 2);
  const totpUsers = totpRequestsPerTarget + (CFG.profile ? Math.round(CFG.warmup / 2) + CFG.requests : 0);

  // 1. setup
  let t = performance.now();
  const users = [...Array.from({ length: CFG.papUsers }, (_, i) => `u${i}`), ...Array.from({ length: totpUsers }, (_, i) => `t${i}`)].map((name) => ({ name, password: benchPassword(name) }));
  const down = await startFreeRadius({ users, clients: [{ address: '127.0.0.1', secret: DOWN_SECRET }] });
  const downPid = pidByArg(down.dir);
  log(`downstream FreeRADIUS on ${down.port} with ${users.length} users (${Math.round(performance.now() - t)} ms)`);

  t = performance.now();
  const dataDir = await tempDir('gatehouse-bench-');
  {
    const store = openStore(dataDir);
    const sealer = createSealer(loadMasterKey(dataDir, undefined));
    await enrollTotpUsers(store, sealer, totpUsers);
    store.close();
  }
  log(`enrolled ${totpUsers} TOTP users in ${dataDir} (${Math.round(performance.now() - t)} ms)`);
  let postgres: Postgres | undefined;
  if (STORE === 'postgres') {
    t = performance.now();
    postgres = await startPostgres({ durable: true });
    const url = await postgres.createDatabase('bench');
    execFileSync(process.execPath, [GATEHOUSE_BIN, 'store', 'migrate', '--to', url, '--data-dir', dataDir], { stdio: ['ignore', 'ignore', 'inherit'] });
    storeEnv['DATABASE_URL'] = url;
    log(`store copied into PostgreSQL with gatehouse store migrate (${Math.round(performance.now() - t)} ms)`);
  }

  const fr = await startFreeRadiusProxy({ clients: [{ address: '127.0.0.1', secret: CLIENT_SECRET }], home: { address: '127.0.0.1', port: down.port, secret: DOWN_SECRET } });
  const gh = await startGatehouse(dataDir, ghArgs(down.port));
  const relay = await startRelay(down.port);
  const targets: Targets = { fr, gh, relay, down, downPid };
  const lg = new LoadGen();
  const measurements: Measurement[] = [];
  const cleanup = async () => {
    lg.close();
    writeFileSync(join(RESULTS, 'freeradius-proxy.log'), fr.logs());
    writeFileSync(join(RESULTS, 'freeradius-downstream.log'), down.logs());
    await Promise.allSettled([fr.stop(), targets.gh.stop(), relay.stop(), down.stop()]);
    await postgres?.stop();
  };
  try {
    // warm-up (JIT, socket pools, SQLite page cache): not recorded
    log('warm-up');
    await measure(lg, targets, 'throughput', 0, 'freeradius', 'pap', CFG.warmup);
    await measure(lg, targets, 'throughput', 0, 'relay', 'pap', CFG.warmup);
    await measure(lg, targets, 'throughput', 0, 'gatehouse', 'pap', CFG.warmup);
    await measure(lg, targets, 'throughput', 0, 'gatehouse', 'totp', CFG.warmup);

    // 2. throughput rounds, alternating order
    log(`throughput: ${CFG.rounds} rounds of ${CFG.requests} requests per target and path, ${CFG.inflight} in flight over ${CFG.sockets} sockets`);
    for (let r = 1; r <= CFG.rounds; r++) {
      const order: [TargetName, PathName][] = [
        ['freeradius', 'pap'],
        ['relay', 'pap'],
        ['gatehouse', 'pap'],
        ['gatehouse', 'totp'],
      ];
      if (r % 2 === 0) order.reverse();
      for (const [target, path] of order) measurements.push(await measure(lg, targets, 'throughput', r, target, path, CFG.requests));
    }

    // 3. same load: both at one fixed rate below the slower one's throughput
    const thr = (target: TargetName, path: PathName) => median(measurements.filter((m) => m.phase === 'throughput' && m.target === target && m.path === path).map((m) => m.rps));
    const rate = Math.round((CFG.sameLoadFraction * Math.min(thr('freeradius', 'pap'), thr('gatehouse', 'pap'), thr('gatehouse', 'totp'))) / 100) * 100;
    log(`same load: ${CFG.sameLoadRounds} rounds at ${rate} req/s`);
    for (let r = 1; r <= CFG.sameLoadRounds; r++) {
      const order: [TargetName, PathName][] = [
        ['freeradius', 'pap'],
        ['relay', 'pap'],
        ['gatehouse', 'pap'],
        ['gatehouse', 'totp'],
      ];
      if (r % 2 === 0) order.reverse();
      for (const [target, path] of order) measurements.push(await measure(lg, targets, 'same_load', r, target, path, Math.round(CFG.requests / 2), rate));
    }
    out['measurements'] = measurements;
    out['summary'] = summarise(measurements);
    out['sameLoadRate'] = rate;
    await targets.gh.stop();

    // 4. profiles
    const profiles: Record<string, ProfileSummary> = {};
    if (CFG.profile) {
      for (const path of ['pap', 'totp'] as const) {
        const dir = join(RESULTS, `profile-${path}`);
        rmSync(dir, { recursive: true, force: true });
        mkdirSync(dir, { recursive: true });
        targets.gh = await startGatehouse(dataDir, ghArgs(down.port), ['--cpu-prof', `--cpu-prof-dir=${dir}`]);
        // PAP: every bench user once first, as in the throughput rounds (whose process has seen
        // them all), so that the profile shows the steady state and not first lookups. TOTP logins
        // are each a different user's first, in the rounds as here.
        const warm = path === 'pap' ? CFG.papUsers : Math.round(CFG.warmup / 2);
        await measure(lg, targets, 'throughput', -1, 'gatehouse', path, warm);
        // Only the measured run is analysed, not the start and the warm-up before it.
        const from = Number(process.hrtime.bigint() / 1000n);
        const m = await measure(lg, targets, 'throughput', -1, 'gatehouse', path, CFG.requests);
        await targets.gh.stop();
        // The main thread's profile is the largest (worker threads, if any, write their own).
        const file = readdirSync(dir)
          .filter((f) => f.endsWith('.cpuprofile'))
          .sort((a, b) => statSync(join(dir, b)).size - statSync(join(dir, a)).size)[0];
        if (file === undefined) {
          log(`no .cpuprofile written in ${dir}`);
          continue;
        }
        profiles[path] = analyse(join(dir, file), 30, from);
        (profiles[path] as ProfileSummary & { underProfiler: unknown }).underProfiler = { rps: m.rps, cpuUsPerReq: m.cpuUsPerReq, requests: CFG.requests };
      }
    }
    out['profiles'] = profiles;

    // 5. cold start on the existing store, alternating
    log(`cold start: store of ${dirSizeMb(dataDir)} MB`);
    const colds: ColdStart[] = [];
    for (let i = 0; i < CFG.coldStarts; i++) {
      const pair = i % 2 === 0 ? [() => coldStartFreeRadius(down.port), () => coldStartGatehouse(dataDir, down.port)] : [() => coldStartGatehouse(dataDir, down.port), () => coldStartFreeRadius(down.port)];
      for (const f of pair) {
        const c = await f();
        colds.push(c);
        log(`  ${c.target.padEnd(10)} RADIUS ready ${c.radiusReadyMs} ms${c.httpReadyMs !== null ? `, HTTP ready ${c.httpReadyMs} ms` : ''}, idle RSS ${c.idleRssMb} MB`);
      }
    }
    out['coldStart'] = { storeMb: dirSizeMb(dataDir), totpUsers, runs: colds, summary: summariseCold(colds) };

    // 6. pending approvals at scale
    if (CFG.pending > 0 && STORE === 'sqlite') {
      out['pending'] = await pendingPhase(down.port);
      // 7. the same with Gatehouse's own push service: phones sign their approvals
      out['pendingOwn'] = await pendingPhase(down.port, 'gatehouse');
    }
  } finally {
    await cleanup();
  }
  out['durationS'] = Math.round((performance.now() - started) / 1000);
  out['store'] = STORE;
  writeFileSync(join(RESULTS, STORE === 'postgres' ? 'latest-postgres.json' : 'latest.json'), JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(report(out) + '\n');
  rmSync(dataDir, { recursive: true, force: true });
}

/** The process whose command line has `arg` (the downstream FreeRADIUS, by its config dir). */
function pidByArg(arg: string): number {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0').includes(arg)) return Number(d);
    } catch {
      // gone
    }
  }
  throw new Error(`no process with argument ${arg}`);
}

// ---------------------------------------------------------------------------------------------
// summary and report

interface Stat {
  median: number;
  min: number;
  max: number;
}
type Summary = Record<string, Record<string, Record<string, Stat>>>;

const METRICS = ['rps', 'p50Ms', 'p99Ms', 'cpuUsPerReq', 'peakRssMb', 'downstreamCpuUsPerReq'] as const;

function summarise(ms: Measurement[]): Summary {
  const s: Summary = {};
  for (const phase of ['throughput', 'same_load'] as const) {
    s[phase] = {};
    for (const [target, path] of [
      ['freeradius', 'pap'],
      ['relay', 'pap'],
      ['gatehouse', 'pap'],
      ['gatehouse', 'totp'],
    ] as const) {
      const sel = ms.filter((m) => m.phase === phase && m.target === target && m.path === path);
      if (sel.length === 0) continue;
      const row: Record<string, Stat> = {};
      for (const k of METRICS) {
        const xs = sel.map((m) => m[k]);
        row[k] = { median: r2(median(xs)), ...spread(xs) };
      }
      const lost = sel.reduce((a, m) => a + (m.requests - m.accepts), 0);
      row['notAccepted'] = { median: lost, min: lost, max: lost };
      s[phase]![`${target}/${path}`] = row;
    }
  }
  return s;
}

function summariseCold(cs: ColdStart[]): Record<string, Record<string, Stat>> {
  const out: Record<string, Record<string, Stat>> = {};
  for (const target of ['freeradius', 'gatehouse'] as const) {
    const sel = cs.filter((c) => c.target === target);
    const row: Record<string, Stat> = {};
    for (const k of ['radiusReadyMs', 'httpReadyMs', 'idleRssMb'] as const) {
      const xs = sel.map((c) => c[k]).filter((x): x is number => x !== null);
      if (xs.length) row[k] = { median: r1(median(xs)), ...spread(xs) };
    }
    out[target] = row;
  }
  return out;
}

function fmt(st: Stat | undefined, digits = 0): string {
  if (st === undefined) return '-';
  const f = (x: number) => x.toFixed(digits);
  return `${f(st.median)} [${f(st.min)}-${f(st.max)}]`;
}

export function report(out: Record<string, unknown>): string {
  const s = out['summary'] as Summary | undefined;
  const lines: string[] = [];
  const cfg = out['config'] as typeof CFG;
  lines.push(`Gatehouse (store: ${String(out['store'] ?? 'sqlite')}) vs FreeRADIUS 3.2.1 proxy — ${cfg.rounds} rounds x ${cfg.requests} requests, ${cfg.inflight} in flight, ${cfg.sockets} sockets; median [min-max]`);
  if (s) {
    for (const phase of ['throughput', 'same_load'] as const) {
      const rows = s[phase];
      if (!rows) continue;
      lines.push('');
      lines.push(phase === 'throughput' ? 'Throughput (closed loop, as fast as answers come back)' : `Same load (paced at ${String(out['sameLoadRate'])} req/s)`);
      const head = ['target/path', 'req/s', 'p50 ms', 'p99 ms', 'CPU us/req', 'peak RSS MB', 'downstream us/req', 'not accepted'];
      const table = [head];
      for (const [k, row] of Object.entries(rows)) {
        table.push([k, fmt(row['rps']), fmt(row['p50Ms'], 2), fmt(row['p99Ms'], 2), fmt(row['cpuUsPerReq'], 1), fmt(row['peakRssMb'], 1), fmt(row['downstreamCpuUsPerReq'], 1), String(row['notAccepted']?.median ?? '-')]);
      }
      const w = head.map((_, i) => Math.max(...table.map((r) => r[i]!.length)));
      for (const r of table) lines.push(r.map((c, i) => c.padEnd(w[i]!)).join('  '));
      const fr = rows['freeradius/pap'];
      const ratio = (k: string, path: string) => {
        const g = rows[`gatehouse/${path}`]?.[k]?.median;
        const f = fr?.[k]?.median;
        return g !== undefined && f !== undefined && f !== 0 ? (g / f).toFixed(2) : '-';
      };
      for (const path of ['pap', 'totp']) {
        lines.push(`  ratio gatehouse/${path} : freeradius/pap  throughput ${ratio('rps', path)}x  p50 ${ratio('p50Ms', path)}x  p99 ${ratio('p99Ms', path)}x  CPU/req ${ratio('cpuUsPerReq', path)}x  peak RSS ${ratio('peakRssMb', path)}x`);
      }
      // The floor: what a Node.js relay with no work of its own reaches against the same proxy,
      // and Gatehouse's CPU per request above it (its own work: audit, lookups, checks, cache).
      const relay = rows['relay/pap'];
      const gh = rows['gatehouse/pap'];
      if (relay !== undefined && fr !== undefined && gh !== undefined) {
        const of = (k: string) => (relay[k]!.median / fr[k]!.median).toFixed(2);
        lines.push(`  floor relay/pap : freeradius/pap  throughput ${of('rps')}x  CPU/req ${of('cpuUsPerReq')}x  peak RSS ${of('peakRssMb')}x; gatehouse/pap spends ${(gh['cpuUsPerReq']!.median - relay['cpuUsPerReq']!.median).toFixed(1)} us/req above it`);
      }
    }
    const thr = s['throughput'];
    const same = s['same_load'];
    if (thr?.['freeradius/pap'] && thr['gatehouse/pap'] && thr['gatehouse/totp']) {
      const papRatio = thr['gatehouse/pap']!['rps']!.median / thr['freeradius/pap']!['rps']!.median;
      const totpRatio = thr['gatehouse/totp']!['rps']!.median / thr['freeradius/pap']!['rps']!.median;
      lines.push('');
      // Beside each target, what the floor (bench/relay.ts, no work of its own) reached in the
      // same run: a target the floor misses is out of reach of any Node.js proxy on this machine.
      const floorRps = thr['relay/pap']?.['rps']?.median;
      const floorRatio = floorRps === undefined ? '' : `  (floor: ${(floorRps / thr['freeradius/pap']!['rps']!.median).toFixed(2)}x)`;
      lines.push('Targets');
      lines.push(`  1. PAP throughput >= 1.2x FreeRADIUS proxy: ${papRatio.toFixed(2)}x  ${papRatio >= 1.2 ? 'MET' : 'SHORT'}${floorRatio}`);
      if (same?.['freeradius/pap'] && same['gatehouse/pap']) {
        const p = same['gatehouse/pap']!['p99Ms']!.median;
        const f = same['freeradius/pap']!['p99Ms']!.median;
        const floorP99 = same['relay/pap']?.['p99Ms']?.median;
        lines.push(`     PAP p99 at the same load no worse: gatehouse ${p} ms vs freeradius ${f} ms  ${p <= f ? 'MET' : 'SHORT'}${floorP99 === undefined ? '' : `  (floor: ${floorP99} ms)`}`);
      }
      lines.push(`  2. PAP+TOTP throughput >= 1.0x FreeRADIUS proxy (plain PAP; it has no TOTP): ${totpRatio.toFixed(2)}x  ${totpRatio >= 1.0 ? 'MET' : 'SHORT'}`);
    }
  }
  const cold = out['coldStart'] as { storeMb: number; totpUsers: number; summary: Record<string, Record<string, Stat>> } | undefined;
  if (cold) {
    lines.push('');
    lines.push(`Cold start on an existing store (${cold.storeMb} MB, ${cold.totpUsers} TOTP users), median [min-max]`);
    for (const [target, row] of Object.entries(cold.summary)) {
      lines.push(`  ${target.padEnd(10)}  RADIUS ready ${fmt(row['radiusReadyMs'])} ms  HTTP ready ${fmt(row['httpReadyMs'])} ms  idle RSS ${fmt(row['idleRssMb'], 1)} MB`);
    }
  }
  const profiles = out['profiles'] as Record<string, ProfileSummary> | undefined;
  for (const [path, p] of Object.entries(profiles ?? {})) {
    lines.push('');
    lines.push(formatSummary(p, `CPU profile, gatehouse ${path}`, 12, (p as ProfileSummary & { underProfiler?: { cpuUsPerReq: number } }).underProfiler?.cpuUsPerReq));
  }
  const pending = out['pending'] as PendingResult | undefined;
  if (pending) {
    lines.push('');
    lines.push(`Pending approvals: ${pending.summary}`);
  }
  const own = out['pendingOwn'] as PendingResult | undefined;
  if (own) {
    lines.push('');
    lines.push(`Pending approvals, Gatehouse's own approver: ${own.summary}`);
  }
  lines.push('');
  lines.push(`(${String(out['durationS'])} s; JSON in bench/results/${out['store'] === 'postgres' ? 'latest-postgres.json' : 'latest.json'})`);
  return lines.join('\n');
}

main().catch((e: unknown) => {
  process.stderr.write(`bench failed: ${(e as Error).stack ?? String(e)}\n`);
  process.exitCode = 1;
});
