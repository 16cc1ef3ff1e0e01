// Pending approvals at scale: N logins (distinct users) wait on push at the same time; RADIUS
// clients retransmit each login 3 s after its last send; then every request is approved at once.
// Two push services:
// - `notakey`: the push API stand-in (bench/push-child.ts, a process of its own) holds every
//   request as pending and Gatehouse polls it; the stand-in approves all at once.
// - `gatehouse`: Gatehouse's own approver; N phones (bench/phones.ts, in this process) each sign
//   their approval and send it, as fast as 32 connections go; each login's time is from its own
//   phone's decision.
//
// Checked: exactly N push requests created (retransmissions and waiting never start a second
// one), every login answered (Access-Accept) and how long after the decision, Gatehouse's peak RSS
// (sampled VmRSS and VmHWM), and its event-loop delay: in process, from the
// gatehouse_event_loop_delay_* gauges of /metrics (perf_hooks.monitorEventLoopDelay(), read every
// 500 ms; the first read, just before the logins, starts the monitor), and as seen from outside,
// the response time of GET /healthz probed every 50 ms (an upper bound that includes HTTP).
import { fork, type ChildProcess } from 'node:child_process';
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from '../test/helpers/appliance.js';
import { startGatehouse } from './gatehouse.js';
import { benchPassword } from './loadgen.js';
import { createPhoneFleet } from '../test/helpers/phones.js';
import type { PushFromChild, PushToChild } from './push-child.js';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const CLIENT_SECRET = 'bench-pending-client-secret';
const RETRANSMIT_MS = 3000;
const PER_SOCKET = 200;

export interface PendingResult {
  provider: 'notakey' | 'gatehouse';
  logins: number;
  pushCreates: number;
  pushCreatesAfterRetransmissions: number;
  distinctPushUsers: number;
  polls: number;
  pollsPerSecond: number;
  allPendingAfterMs: number;
  retransmissionsSent: number;
  /** The most retransmissions sent in one 50 ms tick of the bench. */
  largestRetransmitBurst: number;
  answered: number;
  accepted: number;
  answeredEarly: number;
  answerAfterDecisionMs: { p50: number; p99: number; max: number };
  /** From the decision to the poll that saw it, as the stand-in recorded (the rest is Gatehouse answering). */
  decisionSeenAfterMs: { seen: number; p50: number; p99: number; max: number };
  within1s: number;
  peakRssMb: number;
  healthzMs: { baselineP50: number; p50: number; p99: number; max: number; probes: number; failed: number };
  healthzDuringDecisionMs: { p99: number; max: number };
  /** From /metrics during the run: the largest max and p99 gauges read (each covers the last 10-20 s). */
  loopDelayMs: { max: number; p99: number; reads: number };
  /** Gatehouse's CPU (user + system) while the N logins were held pending, in % of one core. */
  gatehouseCpuPctWhilePending: number;
  /** The push API stand-in's CPU over the same time (it shares the machine). */
  pushStandInCpuPctWhilePending: number;
  /** Gatehouse's CPU from the decision until the last answer (polls and answers), and that time (or the whole wait when some are never answered). */
  answering: { gatehouseCpuMs: number; wallMs: number };
  /**
   * Gatehouse's main thread, from the first login to the last answer: how long it ran, and how long
   * it was ready to run but waited for a CPU (the load generator, the phones and FreeRADIUS share
   * the machine's cores). A turn of the event loop that waited is longer by that wait.
   */
  mainThread: { runMs: number; waitedForCpuMs: number; wallMs: number };
  targets: { exactlyN: boolean; allAnsweredWithin1s: boolean; rssUnder256: boolean; loopDelayUnder50: boolean; healthzUnder50: boolean };
  summary: string;
}

function hide(password: Buffer, secret: Buffer, auth: Buffer): Buffer {
  const out = Buffer.alloc(Math.max(16, Math.ceil(password.length / 16) * 16));
  password.copy(out);
  let prev = auth;
  for (let i = 0; i < out.length; i += 16) {
    const b = createHash('md5').update(secret).update(prev).digest();
    for (let j = 0; j < 16; j++) out[i + j]! ^= b[j]!;
    prev = out.subarray(i, i + 16);
  }
  return out;
}

function request(id: number, name: string, secret: Buffer): Buffer {
  const auth = randomBytes(16);
  const a = (t: number, v: Buffer) => Buffer.concat([Buffer.from([t, v.length + 2]), v]);
  const body = Buffer.concat([a(80, Buffer.alloc(16)), a(1, Buffer.from(name)), a(2, hide(Buffer.from(benchPassword(name)), secret, auth)), a(31, Buffer.from(`cs-${name}`))]);
  const wire = Buffer.concat([Buffer.from([1, id, 0, 0]), auth, body]);
  wire.writeUInt16BE(wire.length, 2);
  createHmac('md5', secret).update(wire).digest().copy(wire, 22);
  return wire;
}

const q = (xs: number[], p: number) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))]!;
};
const r1 = (x: number) => Math.round(x * 10) / 10;
const CLK_TCK = 100;
/** utime + stime of a process, in ms (Linux reports them in clock ticks of 1/100 s). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / CLK_TCK;
}
/** A thread's time on a CPU and waiting in the run queue for one (/proc/PID/task/TID/schedstat; the main thread's TID is the PID). */
function schedstat(pid: number): { runMs: number; waitMs: number } {
  try {
    const [run, wait] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ').map(Number);
    return { runMs: run! / 1e6, waitMs: wait! / 1e6 };
  } catch {
    return { runMs: NaN, waitMs: NaN };
  }
}

/** The event-loop gauges of a /metrics text, in ms. */
function loopGauges(text: string): { max: number; p99: number } | undefined {
  const max = /^gatehouse_event_loop_delay_max_seconds ([\d.e+-]+)$/m.exec(text)?.[1];
  const p99 = /^gatehouse_event_loop_delay_p99_seconds ([\d.e+-]+)$/m.exec(text)?.[1];
  return max === undefined || p99 === undefined ? undefined : { max: Number(max) * 1000, p99: Number(p99) * 1000 };
}
/** Pushes pending at once before the decisions; after them none may be left (a left one is counted as extra). */
const createsAfterRetxOwn = (before: { creates: number }, after: { creates: number }) => before.creates + after.creates;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class PushChild {
  child: ChildProcess;
  private waiting: ((m: PushFromChild) => void)[] = [];
  ready: Promise<string>;
  constructor() {
    this.child = fork(join(HERE, 'push-child.ts'), ['--push-child'], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.ready = new Promise((resolve) => this.waiting.push((m) => resolve((m as { url: string }).url)));
    this.child.on('message', (m: PushFromChild) => this.waiting.shift()?.(m));
  }
  ask<T extends PushFromChild>(m: PushToChild): Promise<T> {
    return new Promise((resolve) => {
      this.waiting.push((r) => resolve(r as T));
      this.child.send(m);
    });
  }
  close(): void {
    if (this.child.connected) this.child.send({ type: 'close' } satisfies PushToChild);
  }
}

export async function runPending(opts: { count: number; downPort: number; downSecret: string; createWaitMs: number; provider?: 'notakey' | 'gatehouse'; nodeArgs?: string[]; log(s: string): void }): Promise<PendingResult> {
  const n = opts.count;
  const provider = opts.provider ?? 'notakey';
  const push = provider === 'notakey' ? new PushChild() : undefined;
  const phones = provider === 'gatehouse' ? createPhoneFleet(n) : undefined;
  const url = push === undefined ? '' : await push.ready;
  const dataDir = await tempDir('gatehouse-bench-pending-');
  phones?.seed(dataDir);
  const providerArgs = push !== undefined ? ['--notakey-host', url, '--notakey-access-id', 'bench', '--notakey-timeout', '30'] : ['--push-provider', 'gatehouse'];
  const gh = await startGatehouse(
    dataDir,
    ['--downstream-address', '127.0.0.1', '--port-out', String(opts.downPort), '--secret-out', opts.downSecret, '--address-secret-in', `127.0.0.1:${CLIENT_SECRET}`, ...providerArgs, '--message-ttl-seconds', '600'],
    opts.nodeArgs ?? [],
  );
  const pid = gh.child.pid!;
  const base = `http://127.0.0.1:${gh.httpPort}`;
  // Passkeys are bound to a host name: phones use the default --public-url, localhost.
  const origin = `http://localhost:${gh.httpPort}`;
  /** Push requests created so far: the stand-in's count, or Gatehouse's own gauge of pending pushes. */
  const pushStats = async (): Promise<{ creates: number; distinctUsers: number; polls: number }> => {
    if (push !== undefined) return push.ask<Extract<PushFromChild, { type: 'stats' }>>({ type: 'stats' });
    const text = await (await fetch(`${base}/metrics`)).text();
    const pushes = Number(/^gatehouse_pending_pushes (\d+)$/m.exec(text)?.[1] ?? NaN);
    return { creates: pushes, distinctUsers: pushes, polls: 0 };
  };
  /** The push service's CPU: the stand-in's process, or this one (the phones) for Gatehouse's own. */
  const pushCpuMs = () => (push !== undefined ? cpuMs(push.child.pid!) : (process.cpuUsage().user + process.cpuUsage().system) / 1000);
  const secret = Buffer.from(CLIENT_SECRET);
  const socks: dgram.Socket[] = [];
  const wires: Buffer[] = [];
  const answeredAt = new Float64Array(n);
  const codes = new Uint8Array(n);
  let retransmissions = 0;
  let largestRetransmitBurst = 0;
  const rssSamples: number[] = [];
  const probes: { at: number; ms: number }[] = [];
  let failedProbes = 0;
  let stopProbes = false;
  const loopReads: { at: number; max: number; p99: number }[] = [];
  let stopMetrics = false;
  let retx: NodeJS.Timeout | undefined;
  try {
    for (let k = 0; k * PER_SOCKET < n; k++) {
      const sock = dgram.createSocket('udp4');
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
      try {
        sock.setRecvBufferSize(4 * 1024 * 1024);
      } catch {
        // capped
      }
      sock.on('message', (b) => {
        const i = k * PER_SOCKET + b[1]!;
        if (i < n && answeredAt[i] === 0) {
          answeredAt[i] = Date.now();
          codes[i] = b[0]!;
        }
      });
      socks.push(sock);
    }
    for (let i = 0; i < n; i++) wires.push(request(i % PER_SOCKET, `u${i}`, secret));
    const sentAt = new Float64Array(n);
    const sendOne = (i: number) => {
      sentAt[i] = performance.now();
      socks[Math.floor(i / PER_SOCKET)]!.send(wires[i]!, gh.radiusPort, '127.0.0.1');
    };

    // Event-loop delay from outside, and memory, sampled throughout.
    const probe = async () => {
      const t = performance.now();
      try {
        const r = await fetch(`http://127.0.0.1:${gh.httpPort}/healthz`, { signal: AbortSignal.timeout(5000) });
        await r.arrayBuffer();
        probes.push({ at: Date.now(), ms: performance.now() - t });
      } catch {
        failedProbes++;
      }
    };
    const prober = (async () => {
      while (!stopProbes) {
        await probe();
        try {
          rssSamples.push(Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN));
        } catch {
          // exited
        }
        await sleep(50);
      }
    })();
    await sleep(500);
    const baseline = probes.map((p) => p.ms);

    // The in-process event-loop delay, read from /metrics every 500 ms from now on.
    const readMetrics = async () => {
      try {
        const r = await fetch(`http://127.0.0.1:${gh.httpPort}/metrics`, { signal: AbortSignal.timeout(5000) });
        const g = loopGauges(await r.text());
        if (g !== undefined) loopReads.push({ at: Date.now(), ...g });
      } catch {
        // counted as a missing read
      }
    };
    await readMetrics();
    loopReads.length = 0;
    const metricsReader = (async () => {
      while (!stopMetrics) {
        await sleep(500);
        await readMetrics();
      }
    })();

    // Send every login once, paced at about 5,000 per second, then retransmit each unanswered one 3 s after its last send.
    const t0 = Date.now();
    const sched0 = schedstat(pid);
    if (process.env['BENCH_DEBUG']) opts.log(`    logins start at ${t0} (epoch ms)`);
    for (let i = 0; i < n; i += 250) {
      for (let j = i; j < Math.min(n, i + 250); j++) sendOne(j);
      await sleep(50);
    }
    // Each client retransmits its own login 3 s after it last sent it, as a NAS's per-request
    // timer does (not all 10,000 in one burst every 3 s).
    // The largest number sent in one tick is reported: a stall of this process would bunch them.
    retx = setInterval(() => {
      const due = performance.now() - RETRANSMIT_MS;
      let burst = 0;
      for (let i = 0; i < n; i++) {
        if (answeredAt[i] === 0 && sentAt[i]! <= due) {
          sendOne(i);
          burst++;
        }
      }
      retransmissions += burst;
      if (burst > largestRetransmitBurst) largestRetransmitBurst = burst;
    }, 50);

    /** For BENCH_DEBUG: Gatehouse's own gauges of logins in progress. */
    const gauges = async () => {
      const text = await (await fetch(`http://127.0.0.1:${gh.httpPort}/metrics`)).text();
      return ['pending_logins', 'pending_pushes', 'downstream_in_flight'].map((k) => `${k} ${new RegExp(`^gatehouse_${k} (\\d+)$`, 'm').exec(text)?.[1] ?? '?'}`).join(', ');
    };
    let stats = await pushStats();
    while (stats.creates < n && Date.now() - t0 < opts.createWaitMs) {
      await sleep(250);
      stats = await pushStats();
      if (process.env['BENCH_DEBUG']) opts.log(`    +${Date.now() - t0} ms: ${stats.creates} created, ${stats.polls} polls, ${await gauges()}, gatehouse cpu ${Math.round(cpuMs(pid))} ms, push side cpu ${Math.round(pushCpuMs())} ms, rss ${rssSamples[rssSamples.length - 1]} kB`);
    }
    const allPendingAfterMs = Date.now() - t0;
    opts.log(`  ${stats.creates} push requests created after ${allPendingAfterMs} ms; holding them for 6 s of retransmissions`);
    const polls0 = stats.polls;
    const tPoll0 = Date.now();
    const cpu0 = cpuMs(pid);
    const pushCpu0 = pushCpuMs();
    await sleep(6000);
    const gatehouseCpuPctWhilePending = Math.round((100 * (cpuMs(pid) - cpu0)) / (Date.now() - tPoll0));
    const pushStandInCpuPctWhilePending = Math.round((100 * (pushCpuMs() - pushCpu0)) / (Date.now() - tPoll0));
    stats = await pushStats();
    const pollsPerSecond = Math.round(((stats.polls - polls0) * 1000) / (Date.now() - tPoll0));
    const createsAfterRetx = stats.creates;
    let answeredEarly = 0;
    for (let i = 0; i < n; i++) if (answeredAt[i] !== 0) answeredEarly++;

    const rssNow = async () => {
      const heap = /^gatehouse_process_heap_used_bytes (\d+)$/m.exec(await (await fetch(`${base}/metrics`)).text())?.[1];
      return `${Math.round(Number(/^VmRSS:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024)} MB (heap used ${Math.round(Number(heap) / 1048576)} MB)`;
    };
    if (process.env['BENCH_DEBUG']) opts.log(`    all pending: rss ${await rssNow()}`);
    // BENCH_HEAPSNAPSHOT=1 (with Gatehouse started with --heapsnapshot-signal=SIGUSR2): a heap
    // snapshot with every login pending, written to Gatehouse's working directory.
    if (process.env['BENCH_HEAPSNAPSHOT'] === '1') process.kill(pid, 'SIGUSR2');
    // Gatehouse's own: each phone reads its request and signs its approval first (not timed).
    if (phones !== undefined) opts.log(`  ${await phones.prepare(base, origin, 16)} phones have signed their approval; sending them`);
    if (process.env['BENCH_DEBUG']) opts.log(`    prepared: rss ${await rssNow()}`);
    if (process.env['BENCH_HEAPSNAPSHOT'] === 'prepared') process.kill(pid, 'SIGUSR2');
    const cpuAtDecision = cpuMs(pid);
    /** When each login's decision was made: all at once by the stand-in, or by each phone. */
    let decisionOf: (i: number) => number;
    let lags: { seen: number; p50: number; p99: number; max: number };
    let decidedAt: number;
    if (push !== undefined) {
      const decided = await push.ask<Extract<PushFromChild, { type: 'decided' }>>({ type: 'decideAll', decision: 'approve' });
      decidedAt = decided.at;
      decisionOf = () => decided.at;
      lags = { seen: 0, p50: NaN, p99: NaN, max: NaN };
    } else {
      const d = await phones!.decideAll(base, origin, 32);
      decidedAt = Math.min(...Array.from(d.decidedAt).filter((x) => x > 0));
      decisionOf = (i) => d.decidedAt[i]!;
      lags = { seen: d.roundTripMs.length - d.refused, p50: r1(q(d.roundTripMs, 0.5)), p99: r1(q(d.roundTripMs, 0.99)), max: r1(q(d.roundTripMs, 1)) };
    }
    if (process.env['BENCH_DEBUG']) opts.log(`    decided at ${decidedAt} (epoch ms, +${decidedAt - t0} ms)`);
    const tEnd = Date.now() + 15_000;
    for (;;) {
      let left = 0;
      for (let i = 0; i < n; i++) if (answeredAt[i] === 0) left++;
      if (left === 0 || Date.now() > tEnd) break;
      await sleep(100);
    }
    if (process.env['BENCH_DEBUG']) opts.log(`    answered: rss ${await rssNow()}, loop reads ${loopReads.map((r) => `${Math.round((r.at - t0) / 100) / 10}s:${Math.round(r.max)}`).join(' ')}`);
    const lastAnswer = Math.max(...Array.from(answeredAt, (a) => a - decidedAt));
    const sched1 = schedstat(pid);
    const mainThread = { runMs: Math.round(sched1.runMs - sched0.runMs), waitedForCpuMs: Math.round(sched1.waitMs - sched0.waitMs), wallMs: Date.now() - t0 };
    const answering = { gatehouseCpuMs: Math.round(cpuMs(pid) - cpuAtDecision), wallMs: answeredAt.every((a) => a !== 0) ? lastAnswer : Date.now() - decidedAt };
    // Gatehouse's own: every push was pending at once (its gauge when all were), none is left now.
    const final = push !== undefined ? await push.ask<Extract<PushFromChild, { type: 'stats' }>>({ type: 'stats' }) : { ...stats, creates: createsAfterRetxOwn(stats, await pushStats()) };
    if (push !== undefined) lags = await push.ask<Extract<PushFromChild, { type: 'lags' }>>({ type: 'lags' });
    stopProbes = true;
    stopMetrics = true;
    await prober;
    await metricsReader;
    clearInterval(retx);

    const after: number[] = [];
    let accepted = 0;
    for (let i = 0; i < n; i++) {
      if (answeredAt[i] !== 0) after.push(answeredAt[i]! - decisionOf(i));
      if (codes[i] === 2) accepted++;
    }
    const during = probes.filter((p) => p.at >= t0).map((p) => p.ms);
    const decisionWindow = probes.filter((p) => p.at >= decidedAt).map((p) => p.ms);
    const hwm = Number(/^VmHWM:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);
    const peakRssMb = r1(Math.max(hwm, ...rssSamples) / 1024);
    const within1s = after.filter((x) => x <= 1000).length;
    const loopMax = loopReads.length ? Math.max(...loopReads.map((x) => x.max)) : NaN;
    const loopP99 = loopReads.length ? Math.max(...loopReads.map((x) => x.p99)) : NaN;
    const res: PendingResult = {
      provider,
      logins: n,
      pushCreates: final.creates,
      pushCreatesAfterRetransmissions: createsAfterRetx,
      distinctPushUsers: final.distinctUsers,
      polls: final.polls,
      pollsPerSecond,
      allPendingAfterMs,
      retransmissionsSent: retransmissions,
      largestRetransmitBurst,
      answered: after.length,
      accepted,
      answeredEarly,
      answerAfterDecisionMs: { p50: q(after, 0.5), p99: q(after, 0.99), max: q(after, 1) },
      decisionSeenAfterMs: { seen: lags.seen, p50: lags.p50, p99: lags.p99, max: lags.max },
      within1s,
      peakRssMb,
      healthzMs: { baselineP50: r1(q(baseline, 0.5)), p50: r1(q(during, 0.5)), p99: r1(q(during, 0.99)), max: r1(q(during, 1)), probes: during.length, failed: failedProbes },
      healthzDuringDecisionMs: { p99: r1(q(decisionWindow, 0.99)), max: r1(q(decisionWindow, 1)) },
      loopDelayMs: { max: r1(loopMax), p99: r1(loopP99), reads: loopReads.length },
      gatehouseCpuPctWhilePending,
      pushStandInCpuPctWhilePending,
      answering,
      mainThread,
      targets: {
        exactlyN: final.creates === n && final.distinctUsers === n,
        allAnsweredWithin1s: within1s === n,
        rssUnder256: peakRssMb < 256,
        loopDelayUnder50: loopMax < 50,
        healthzUnder50: q(during, 1) < 50,
      },
      summary: '',
    };
    const t = res.targets;
    res.summary = [
      `${n} logins, ${res.pushCreates} push requests created (${t.exactlyN ? 'exactly N' : 'NOT exactly N'}; ${createsAfterRetx} after ${retransmissions} retransmissions, at most ${largestRetransmitBurst} in one 50 ms tick), all pending after ${allPendingAfterMs} ms, ${pollsPerSecond} polls/s while pending, CPU (% of a core) Gatehouse ${gatehouseCpuPctWhilePending}%, ${push === undefined ? 'phones (bench process)' : 'push stand-in'} ${pushStandInCpuPctWhilePending}%`,
      `answered ${res.answered} (${accepted} accepts, ${answeredEarly} before the decision); after the decision p50 ${res.answerAfterDecisionMs.p50} ms, p99 ${res.answerAfterDecisionMs.p99} ms, max ${res.answerAfterDecisionMs.max} ms; ${within1s}/${n} within 1 s ${t.allAnsweredWithin1s ? 'MET' : 'SHORT'}`,
      push === undefined
        ? `each phone's signed decision (POST, verified) answered in p50 ${lags.p50} ms, p99 ${lags.p99} ms, max ${lags.max} ms (${lags.seen} accepted); ${res.answered === n ? `Gatehouse CPU from the first decision to the last answer ${answering.gatehouseCpuMs} ms in ${answering.wallMs} ms` : `Gatehouse CPU in the ${answering.wallMs} ms waited for answers ${answering.gatehouseCpuMs} ms`}`
        : `decision seen by a poll after p50 ${lags.p50} ms, p99 ${lags.p99} ms, max ${lags.max} ms (${lags.seen} seen); ${res.answered === n ? `Gatehouse CPU from the decision to the last answer ${answering.gatehouseCpuMs} ms in ${answering.wallMs} ms` : `Gatehouse CPU in the ${answering.wallMs} ms waited for answers ${answering.gatehouseCpuMs} ms`}`,
      `peak RSS ${peakRssMb} MB ${t.rssUnder256 ? 'MET' : 'SHORT'} (< 256 MB)`,
      `event-loop delay in process (/metrics, ${res.loopDelayMs.reads} reads): max ${res.loopDelayMs.max} ms, p99 up to ${res.loopDelayMs.p99} ms; ${t.loopDelayUnder50 ? 'MET' : 'SHORT'} (< 50 ms); Gatehouse's main thread ran ${mainThread.runMs} ms and waited for a CPU ${mainThread.waitedForCpuMs} ms in ${mainThread.wallMs} ms`,
      `/healthz response (from outside, includes HTTP): idle p50 ${res.healthzMs.baselineP50} ms; under load p50 ${res.healthzMs.p50} ms, p99 ${res.healthzMs.p99} ms, max ${res.healthzMs.max} ms (${res.healthzMs.probes} probes, ${failedProbes} failed); while answering the decisions max ${res.healthzDuringDecisionMs.max} ms; ${t.healthzUnder50 ? 'under' : 'over'} 50 ms`,
    ].join('\n  ');
    opts.log(`  ${res.summary}`);
    return res;
  } finally {
    stopProbes = true;
    stopMetrics = true;
    clearInterval(retx);
    for (const s of socks) s.close();
    await gh.stop();
    // BENCH_GH_OUTPUT=FILE: Gatehouse's output kept (e.g. with BENCH_NODE_ARGS=--trace-gc).
    if (process.env['BENCH_GH_OUTPUT']) await writeFile(process.env['BENCH_GH_OUTPUT'], gh.output());
    push?.close();
    await rm(dataDir, { recursive: true, force: true });
  }
}
