// The Windows logon endpoint's transport: a named pipe on Windows, a Unix socket elsewhere.
// Several requests may be in flight per connection; a bad frame gets an error reply where
// possible and its connection is closed, without disturbing other connections.
import { existsSync, lstatSync, unlinkSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { CounterFamily } from '../lib/metrics.js';
import { encodeFrame, FrameDecoder, parseRequest, type Request } from './frame.js';

export type Reply = Record<string, string | number>;

export interface EndpointOptions {
  path: string;
  /**
   * Answer a request. `interim` sends a reply with the request's id before the final one (the
   * number of a number-matched logon); it does nothing once the final reply is out.
   */
  handle(request: Request, peer: string, interim: (reply: Reply) => void): Promise<Reply>;
  onProblem?(what: string): void;
  maxConnections?: number;
  maxInFlightPerConnection?: number;
  idleTimeoutMs?: number;
}

export interface Endpoint {
  path: string;
  connections(): number;
  close(): Promise<void>;
}

/** The counter the endpoint's problems are counted in (by the composition root, through onProblem). */
export const PIPE_COUNTERS: readonly CounterFamily[] = [{ name: 'pipe_errors', help: 'Windows logon pipe connections refused or closed for a problem (too many connections, a slow reader, a bad frame).' }];

/** How long close() waits for the requests being answered. */
const CLOSE_GRACE_MS = 2000;

/** Replies waiting in a slow reader's socket beyond this are not queued further: it is dropped. */
const MAX_BUFFERED = 1024 * 1024;

async function removeStaleSocket(path: string): Promise<void> {
  if (process.platform === 'win32' || !existsSync(path)) return;
  // Only ever a socket: a mistyped path must not cost someone a real file.
  if (!lstatSync(path).isSocket()) throw new Error(`${path} exists and is not a socket`);
  // A socket file nobody listens on is left over from a crash: remove it. One in use is not ours to take.
  const inUse = await new Promise<boolean>((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
  if (inUse) throw new Error(`${path} is in use by another process`);
  unlinkSync(path);
}

export async function startEndpoint(opts: EndpointOptions): Promise<Endpoint> {
  await removeStaleSocket(opts.path);
  const sockets = new Set<Socket>();
  const maxInFlight = opts.maxInFlightPerConnection ?? 64;
  /** Requests being answered, on every connection; close() lets them finish first. */
  let answering = 0;
  let drained: (() => void) | undefined;
  const problem = (w: string) => opts.onProblem?.(w);
  const server: Server = createServer((sock) => {
    if (sockets.size >= (opts.maxConnections ?? 1000)) {
      problem('too_many_connections');
      sock.destroy();
      return;
    }
    sockets.add(sock);
    sock.setTimeout(opts.idleTimeoutMs ?? 5 * 60_000, () => sock.destroy());
    const decoder = new FrameDecoder();
    let inFlight = 0;
    let closing = false;
    const send = (reply: object) => {
      if (sock.destroyed) return;
      if (sock.writableLength > MAX_BUFFERED) {
        problem('slow_reader');
        sock.destroy();
        return;
      }
      sock.write(encodeFrame(reply));
    };
    // After a bad frame: answer it, let the requests already in flight answer too, then close.
    const endWhenIdle = () => {
      if (closing && inFlight === 0) sock.end();
    };
    const refuse = (id: number | undefined, message: string) => {
      problem(message);
      closing = true;
      send(id === undefined ? { result: 'error', status: 'error', message } : { id, result: 'error', status: 'error', message });
      endWhenIdle();
    };
    sock.on('data', (chunk) => {
      if (closing) return;
      const { frames, error } = decoder.push(chunk);
      for (const body of frames) {
        const parsed = parseRequest(body);
        if (!parsed.ok) return refuse(parsed.id, parsed.message);
        if (inFlight >= maxInFlight) return refuse(parsed.request.id, `more than ${maxInFlight} requests in flight on one connection`);
        inFlight++;
        answering++;
        const req = parsed.request;
        let answered = false;
        const final = (reply: object) => {
          answered = true;
          send(reply);
        };
        opts
          .handle(req, 'pipe', (reply) => {
            if (!answered) send({ ...reply, id: req.id });
          })
          .then(
            (reply) => final({ ...reply, id: req.id }),
            () => final({ id: req.id, result: 'error', status: 'error', message: 'internal error' }),
          )
          .finally(() => {
            inFlight--;
            answering--;
            endWhenIdle();
            if (answering === 0) drained?.();
          });
      }
      if (error !== undefined) refuse(undefined, error === 'too_long' ? 'frame longer than 65536 bytes' : 'frame of length 0');
    });
    sock.on('error', () => undefined);
    sock.on('close', () => sockets.delete(sock));
  });
  // The socket is created owner-only from the start (no window with the umask's permissions).
  const oldMask = process.platform === 'win32' ? undefined : process.umask(0o177);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.path, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } finally {
    if (oldMask !== undefined) process.umask(oldMask);
  }
  return {
    path: opts.path,
    connections: () => sockets.size,
    // New connections stop at once; requests being answered (a shutdown answers the ones waiting
    // on a phone) get up to CLOSE_GRACE_MS to be written before every connection is dropped.
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      if (answering > 0) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, CLOSE_GRACE_MS);
          drained = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      for (const s of sockets) s.destroy();
      await closed;
    },
  };
}
