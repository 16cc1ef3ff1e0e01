// A small client of the Windows logon pipe protocol, version 1 (DESIGN.md), over a Unix socket:
// requests carry ids and replies are matched by id (several may be in flight), frames the
// endpoint sends without a matching id (error replies to bad input) are queued for `next()`,
// raw bytes can be sent for bad-input tests, and the connection's end can be awaited.
// Frames go out through the app's encodeFrame; the reader here is its own, so a decoder bug in
// app/pipe/frame.ts does not hide itself.
import { connect, type Socket } from 'node:net';
import { encodeFrame, MAX_FRAME } from '../../app/pipe/frame.js';

export type PipeReply = Record<string, unknown>;

export interface PipeClient {
  socket: Socket;
  /** Send a request; an id is assigned unless the message has one. Resolves with the reply carrying that id. */
  request(message: Record<string, unknown>, timeoutMs?: number): Promise<PipeReply>;
  /** Send a request frame without waiting; returns the id it carries. */
  send(message: Record<string, unknown>): number;
  /** The reply to an id sent before (with `send`, or written raw). */
  reply(id: number, timeoutMs?: number): Promise<PipeReply>;
  /** Write bytes as they are (no framing). */
  sendRaw(bytes: Buffer | string): void;
  /** The next frame that no request was waiting for (e.g. an error reply without an id). */
  next(timeoutMs?: number): Promise<PipeReply>;
  /** Every frame received, in arrival order. */
  received: PipeReply[];
  /**
   * The interim reply (`result: "number"`, number matching) to an id: such frames never settle
   * `request` or `reply`, which wait for the final one.
   */
  interim(id: number, timeoutMs?: number): Promise<PipeReply>;
  /** Frames that nobody has taken yet. */
  unmatched(): PipeReply[];
  /** Resolves true once the peer closed the connection (or it was destroyed), false after timeoutMs. */
  waitClosed(timeoutMs?: number): Promise<boolean>;
  isClosed(): boolean;
  /** A framing problem in what the endpoint sent, if any (then the client closes). */
  protocolError(): string | undefined;
  end(): void;
  destroy(): void;
}

/** A frame for the given length prefix and body, bypassing encodeFrame's limits. */
export function rawFrame(body: Buffer | string, length?: number): Buffer {
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const head = Buffer.alloc(4);
  head.writeUInt32LE(length ?? b.length, 0);
  return Buffer.concat([head, b]);
}

export function connectPipe(path: string, timeoutMs = 5000): Promise<PipeClient> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`connecting to ${path} timed out`));
    }, timeoutMs);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(wrap(socket));
    });
  });
}

function wrap(socket: Socket): PipeClient {
  let buf: Buffer = Buffer.alloc(0);
  let nextId = 1;
  let closed = false;
  let problem: string | undefined;
  const received: PipeReply[] = [];
  const byId = new Map<number, PipeReply>();
  const queue: PipeReply[] = [];
  const idWaiters = new Map<number, { resolve(r: PipeReply): void; reject(e: Error): void }>();
  const queueWaiters: { resolve(r: PipeReply): void; reject(e: Error): void }[] = [];
  const closeWaiters: (() => void)[] = [];
  const interims = new Map<number, PipeReply>();
  const interimWaiters = new Map<number, (r: PipeReply) => void>();

  const deliver = (msg: PipeReply) => {
    received.push(msg);
    const id = msg['id'];
    if (typeof id === 'number' && msg['result'] === 'number') {
      const w = interimWaiters.get(id);
      interimWaiters.delete(id);
      if (w !== undefined) w(msg);
      else interims.set(id, msg);
      return;
    }
    if (typeof id === 'number') {
      const w = idWaiters.get(id);
      if (w !== undefined) {
        idWaiters.delete(id);
        return w.resolve(msg);
      }
      if (!byId.has(id)) byId.set(id, msg);
    }
    const q = queueWaiters.shift();
    if (q !== undefined) q.resolve(msg);
    else queue.push(msg);
  };

  socket.on('data', (chunk: Buffer) => {
    if (problem !== undefined) return;
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (buf.length >= 4) {
      const n = buf.readUInt32LE(0);
      if (n === 0 || n > MAX_FRAME) {
        problem = `endpoint sent a frame length of ${n}`;
        socket.destroy();
        return;
      }
      if (buf.length < 4 + n) break;
      const body = buf.subarray(4, 4 + n).toString('utf8');
      buf = buf.subarray(4 + n);
      let msg: unknown;
      try {
        msg = JSON.parse(body);
      } catch {
        problem = `endpoint sent a frame that is not JSON: ${body.slice(0, 80)}`;
        socket.destroy();
        return;
      }
      if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
        problem = `endpoint sent a frame that is not a JSON object: ${body.slice(0, 80)}`;
        socket.destroy();
        return;
      }
      deliver(msg as PipeReply);
    }
  });
  socket.on('error', () => undefined);
  socket.on('close', () => {
    closed = true;
    const err = new Error(problem ?? 'connection closed');
    for (const w of idWaiters.values()) w.reject(err);
    idWaiters.clear();
    for (const w of queueWaiters.splice(0)) w.reject(err);
    for (const c of closeWaiters.splice(0)) c();
  });

  const withTimeout = <T>(p: Promise<T>, ms: number, what: string, cancel: () => void): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const t = setTimeout(() => {
        cancel();
        reject(new Error(`no ${what} within ${ms} ms`));
      }, ms);
      p.then(
        (v) => {
          clearTimeout(t);
          resolve(v);
        },
        (e: unknown) => {
          clearTimeout(t);
          reject(e as Error);
        },
      );
    });

  const client: PipeClient = {
    socket,
    received,
    interim(id, timeoutMs = 10_000) {
      const have = interims.get(id);
      if (have !== undefined) {
        interims.delete(id);
        return Promise.resolve(have);
      }
      return withTimeout(new Promise<PipeReply>((resolve) => interimWaiters.set(id, resolve)), timeoutMs, `interim reply to ${id}`, () => interimWaiters.delete(id));
    },
    send(message) {
      const id = typeof message['id'] === 'number' ? message['id'] : nextId++;
      socket.write(encodeFrame({ ...message, id }));
      return id;
    },
    reply(id, timeoutMs = 10_000) {
      const have = byId.get(id);
      if (have !== undefined) {
        byId.delete(id);
        const i = queue.indexOf(have);
        if (i >= 0) queue.splice(i, 1);
        return Promise.resolve(have);
      }
      if (closed) return Promise.reject(new Error(problem ?? 'connection closed'));
      const p = new Promise<PipeReply>((resolve, reject) => idWaiters.set(id, { resolve, reject }));
      return withTimeout(p, timeoutMs, `reply to id ${id}`, () => idWaiters.delete(id));
    },
    request(message, timeoutMs = 10_000) {
      const id = client.send(message);
      return client.reply(id, timeoutMs);
    },
    sendRaw(bytes) {
      socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes);
    },
    next(timeoutMs = 5000) {
      const m = queue.shift();
      if (m !== undefined) {
        const id = m['id'];
        if (typeof id === 'number' && byId.get(id) === m) byId.delete(id);
        return Promise.resolve(m);
      }
      if (closed) return Promise.reject(new Error(problem ?? 'connection closed'));
      let entry: { resolve(r: PipeReply): void; reject(e: Error): void } | undefined;
      const p = new Promise<PipeReply>((resolve, reject) => {
        entry = { resolve, reject };
        queueWaiters.push(entry);
      });
      return withTimeout(p, timeoutMs, 'frame', () => {
        const i = entry === undefined ? -1 : queueWaiters.indexOf(entry);
        if (i >= 0) queueWaiters.splice(i, 1);
      });
    },
    unmatched: () => [...queue],
    waitClosed(timeoutMs = 5000) {
      if (closed) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = () => {
          clearTimeout(t);
          resolve(true);
        };
        const t = setTimeout(() => {
          const i = closeWaiters.indexOf(done);
          if (i >= 0) closeWaiters.splice(i, 1);
          resolve(false);
        }, timeoutMs);
        closeWaiters.push(done);
      });
    },
    isClosed: () => closed,
    protocolError: () => problem,
    end: () => void socket.end(),
    destroy: () => void socket.destroy(),
  };
  return client;
}
