// The benchmark's load generator: a child process of bench/run.ts (forked with IPC), so that its
// CPU (about one core at full speed) is not charged to the orchestrator or to the target.
//
// Per job: every request is built before the clock starts (distinct user, random Request
// Authenticator, User-Password hidden with the client secret); at send time only the identifier
// is written and the Message-Authenticator computed. Up to `inflight` requests are in flight,
// spread evenly over `sockets` UDP sockets (receive buffers enlarged); each socket recycles its
// 256 identifiers FIFO, so an identifier comes back only after 255 others were used on that
// socket (FreeRADIUS 3.2.1 logs "conflicting packet" on an immediate reuse). Answers are checked
// (Response Authenticator, code). No retransmissions: an answer missing after `timeoutMs` counts
// as a timeout. Bounded in count (`requests`) and time (`maxMs`). Loopback only.
//
// The RADIUS framing and crypto here are written independently of app/radius/ on purpose.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { totp } from '../app/mfa/otp.js';

export interface Job {
  host: '127.0.0.1';
  port: number;
  secret: string;
  /** pap: password `pw-NAME`; totp: `pw-NAME,CODE` with the user's current TOTP code. */
  kind: 'pap' | 'totp';
  /** Request i goes out for user `${prefix}${start + (i % modulo)}`. */
  users: { prefix: string; start: number; modulo: number };
  requests: number;
  inflight: number;
  sockets: number;
  timeoutMs: number;
  maxMs: number;
  /** Requests per second (paced); absent = as fast as answers come back (closed loop). */
  rate?: number;
  /** Hex key from which each TOTP seed is derived (see totpSeed). */
  totpKey?: string;
}

export interface JobResult {
  requests: number;
  sent: number;
  answered: number;
  accepts: number;
  rejects: number;
  otherCodes: number;
  badAuthenticator: number;
  timeouts: number;
  unmatched: number;
  elapsedMs: number;
  rps: number;
  latencyMs: { p50: number; p90: number; p99: number; max: number; mean: number };
  loadgenCpuMs: number;
}

export type ToChild = { type: 'prepare'; job: Job } | { type: 'go' } | { type: 'exit' };
export type FromChild = { type: 'prepared'; buildMs: number } | { type: 'done'; result: JobResult } | { type: 'error'; message: string };

/** The TOTP seed of a bench user: the first 20 bytes of HMAC-SHA256(key, name). */
export function totpSeed(keyHex: string, name: string): Buffer {
  return createHmac('sha256', Buffer.from(keyHex, 'hex')).update(name).digest().subarray(0, 20);
}
export const benchPassword = (name: string): string => `pw-${name}`;

const MA_OFFSET = 22; // Message-Authenticator goes first: header(20) + type(1) + length(1)

function hide(password: Buffer, secret: Buffer, authenticator: Buffer): Buffer {
  const len = Math.max(16, Math.ceil(password.length / 16) * 16);
  const out = Buffer.alloc(len);
  password.copy(out);
  let prev = authenticator;
  for (let i = 0; i < len; i += 16) {
    const b = createHash('md5').update(secret).update(prev).digest();
    for (let j = 0; j < 16; j++) out[i + j]! ^= b[j]!;
    prev = out.subarray(i, i + 16);
  }
  return out;
}

function attr(type: number, value: Buffer): Buffer {
  return Buffer.concat([Buffer.from([type, value.length + 2]), value]);
}

/** An Access-Request with identifier 0 and a zeroed Message-Authenticator, to be completed at send time. */
function buildRequest(name: string, password: string, i: number, secret: Buffer): { wire: Buffer; auth: Buffer } {
  const auth = randomBytes(16);
  const body = Buffer.concat([
    attr(80, Buffer.alloc(16)),
    attr(1, Buffer.from(name, 'utf8')),
    attr(2, hide(Buffer.from(password, 'utf8'), secret, auth)),
    attr(4, Buffer.from([127, 0, 0, 1])),
    attr(32, Buffer.from('gatehouse-bench', 'utf8')),
    attr(31, Buffer.from(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, 'utf8')),
    attr(61, Buffer.from([0, 0, 0, 5])),
  ]);
  const wire = Buffer.alloc(20 + body.length);
  wire[0] = 1;
  wire.writeUInt16BE(wire.length, 2);
  auth.copy(wire, 4);
  body.copy(wire, 20);
  return { wire, auth };
}

function sign(wire: Buffer, id: number, secret: Buffer): void {
  wire[1] = id;
  wire.fill(0, MA_OFFSET, MA_OFFSET + 16);
  createHmac('md5', secret).update(wire).digest().copy(wire, MA_OFFSET);
}

function responseOk(resp: Buffer, reqAuth: Buffer, secret: Buffer): boolean {
  if (resp.length < 20) return false;
  const len = resp.readUInt16BE(2);
  if (len < 20 || len > resp.length) return false;
  const h = createHash('md5').update(resp.subarray(0, 4)).update(reqAuth).update(resp.subarray(20, len)).update(secret).digest();
  return h.equals(resp.subarray(4, 20));
}

function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

interface Prepared {
  job: Job;
  secret: Buffer;
  wires: Buffer[];
  auths: Buffer[];
}

function prepare(job: Job): Prepared {
  const secret = Buffer.from(job.secret, 'utf8');
  const wires: Buffer[] = new Array(job.requests);
  const auths: Buffer[] = new Array(job.requests);
  const now = Date.now();
  for (let i = 0; i < job.requests; i++) {
    const name = `${job.users.prefix}${job.users.start + (i % job.users.modulo)}`;
    let password = benchPassword(name);
    if (job.kind === 'totp') password += `,${totp(totpSeed(job.totpKey!, name), now)}`;
    const r = buildRequest(name, password, i, secret);
    wires[i] = r.wire;
    auths[i] = r.auth;
  }
  return { job, secret, wires, auths };
}

interface Sock {
  sock: dgram.Socket;
  free: Uint8Array;
  head: number;
  count: number;
  /** Request index per identifier, -1 when free. */
  req: Int32Array;
  sentAt: Float64Array;
  inflight: number;
}

async function openSockets(n: number): Promise<Sock[]> {
  const out: Sock[] = [];
  for (let k = 0; k < n; k++) {
    const sock = dgram.createSocket('udp4');
    await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
    for (const set of [() => sock.setRecvBufferSize(4 * 1024 * 1024), () => sock.setSendBufferSize(4 * 1024 * 1024)]) {
      try {
        set();
      } catch {
        // capped by net.core.rmem_max / wmem_max
      }
    }
    const free = new Uint8Array(256);
    for (let i = 0; i < 256; i++) free[i] = i;
    out.push({ sock, free, head: 0, count: 256, req: new Int32Array(256).fill(-1), sentAt: new Float64Array(256), inflight: 0 });
  }
  return out;
}

function run(p: Prepared, socks: Sock[]): Promise<JobResult> {
  const { job, secret, wires, auths } = p;
  const total = job.requests;
  const perSocket = Math.ceil(job.inflight / socks.length);
  const lat = new Float64Array(total);
  let answered = 0;
  let accepts = 0;
  let rejects = 0;
  let otherCodes = 0;
  let bad = 0;
  let timeouts = 0;
  let unmatched = 0;
  let next = 0;
  let inflight = 0;
  let rr = 0;
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let stopSending = false;
  let lastAnswerAt = t0;
  let paceTimer: NodeJS.Timeout | undefined;

  return new Promise<JobResult>((resolveJob) => {
    const release = (s: Sock, id: number) => {
      s.req[id] = -1;
      s.free[(s.head + s.count) & 255] = id;
      s.count++;
      s.inflight--;
      inflight--;
    };
    const finish = () => {
      clearInterval(sweep);
      clearTimeout(paceTimer);
      for (const s of socks) s.sock.removeAllListeners('message');
      // Up to the last answer: a trailing wait for timed-out requests is not throughput.
      const elapsedMs = (answered > 0 ? lastAnswerAt : performance.now()) - t0;
      const cpu = process.cpuUsage(cpu0);
      const sorted = lat.subarray(0, answered).sort();
      let sum = 0;
      for (let i = 0; i < sorted.length; i++) sum += sorted[i]!;
      resolveJob({
        requests: total,
        sent: next,
        answered,
        accepts,
        rejects,
        otherCodes,
        badAuthenticator: bad,
        timeouts,
        unmatched,
        elapsedMs,
        rps: (answered * 1000) / elapsedMs,
        latencyMs: { p50: percentile(sorted, 0.5), p90: percentile(sorted, 0.9), p99: percentile(sorted, 0.99), max: percentile(sorted, 1), mean: sorted.length ? sum / sorted.length : NaN },
        loadgenCpuMs: (cpu.user + cpu.system) / 1000,
      });
    };
    const maybeDone = () => {
      if (inflight === 0 && (next >= total || stopSending)) finish();
    };
    const pump = () => {
      let allowed = total;
      if (job.rate !== undefined) {
        allowed = Math.min(total, Math.floor(((performance.now() - t0) * job.rate) / 1000) + 1);
      }
      while (!stopSending && next < allowed && inflight < job.inflight) {
        let s: Sock | undefined;
        for (let k = 0; k < socks.length; k++) {
          const c = socks[(rr + k) % socks.length]!;
          if (c.inflight < perSocket && c.count > 0) {
            s = c;
            rr = (rr + k + 1) % socks.length;
            break;
          }
        }
        if (s === undefined) break;
        const id = s.free[s.head]!;
        s.head = (s.head + 1) & 255;
        s.count--;
        s.inflight++;
        inflight++;
        const i = next++;
        const wire = wires[i]!;
        sign(wire, id, secret);
        s.req[id] = i;
        s.sentAt[id] = performance.now();
        s.sock.send(wire, job.port, job.host);
      }
      if (job.rate !== undefined && next < total && !stopSending && paceTimer === undefined) {
        paceTimer = setTimeout(() => {
          paceTimer = undefined;
          pump();
        }, 1);
      }
    };
    for (const s of socks) {
      s.sock.on('message', (buf) => {
        const now = performance.now();
        const id = buf[1]!;
        const i = s.req[id]!;
        if (buf.length < 20 || i < 0) {
          unmatched++;
          return;
        }
        if (!responseOk(buf, auths[i]!, secret)) {
          bad++;
          return; // keep waiting: a forged answer must not release the request
        }
        lat[answered++] = now - s.sentAt[id]!;
        lastAnswerAt = now;
        const code = buf[0]!;
        if (code === 2) accepts++;
        else if (code === 3) rejects++;
        else otherCodes++;
        release(s, id);
        pump();
        maybeDone();
      });
    }
    const sweep = setInterval(() => {
      const now = performance.now();
      if (now - t0 > job.maxMs) stopSending = true;
      for (const s of socks) {
        for (let id = 0; id < 256; id++) {
          if (s.req[id]! >= 0 && now - s.sentAt[id]! > job.timeoutMs) {
            timeouts++;
            release(s, id);
          }
        }
      }
      pump();
      maybeDone();
    }, 50);
    pump();
  });
}

// ---------------------------------------------------------------------------------------------
// Child process side

if (process.send !== undefined && process.argv.includes('--loadgen-child')) {
  let socks: Sock[] | undefined;
  let prepared: Prepared | undefined;
  const reply = (m: FromChild) => process.send!(m);
  process.on('message', (m: ToChild) => {
    void (async () => {
      try {
        if (m.type === 'prepare') {
          const t = performance.now();
          if (socks === undefined || socks.length !== m.job.sockets) {
            for (const s of socks ?? []) s.sock.close();
            socks = await openSockets(m.job.sockets);
          }
          prepared = prepare(m.job);
          reply({ type: 'prepared', buildMs: performance.now() - t });
        } else if (m.type === 'go') {
          if (prepared === undefined || socks === undefined) throw new Error('go before prepare');
          const result = await run(prepared, socks);
          prepared = undefined;
          // Late answers to timed-out requests must not land in the next job.
          for (const s of socks) {
            s.req.fill(-1);
            s.inflight = 0;
          }
          reply({ type: 'done', result });
        } else if (m.type === 'exit') {
          for (const s of socks ?? []) s.sock.close();
          process.disconnect();
        }
      } catch (e) {
        reply({ type: 'error', message: (e as Error).stack ?? String(e) });
      }
    })();
  });
}
