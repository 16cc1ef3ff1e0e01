// A syslog collector for tests, on loopback: UDP (one message per datagram, RFC 5426) or TCP
// (octet-counted frames, RFC 6587 3.4.1; a frame that does not parse fails the collector). It
// keeps every message, parses the RFC 5424 header and the JSON MSG, and can stop reading (a slow
// collector), drop its connections, and close and listen again on the same port.
import dgram from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';

export interface SyslogMessage {
  raw: string;
  pri: number;
  facility: number;
  severity: number;
  version: number;
  timestamp: string;
  hostname: string;
  appName: string;
  procId: string;
  msgId: string;
  structuredData: string;
  msg: string;
  /** MSG as JSON. */
  record: Record<string, unknown>;
}

const RFC5424 = /^<(\d{1,3})>(\d) (\S+) (\S+) (\S+) (\S+) (\S+) (-|\[.*?\]) (.*)$/s;

export function parseSyslog(raw: string): SyslogMessage {
  const m = RFC5424.exec(raw);
  if (m === null) throw new Error(`not an RFC 5424 message: ${JSON.stringify(raw.slice(0, 200))}`);
  const pri = Number(m[1]);
  return {
    raw,
    pri,
    facility: Math.floor(pri / 8),
    severity: pri % 8,
    version: Number(m[2]),
    timestamp: m[3]!,
    hostname: m[4]!,
    appName: m[5]!,
    procId: m[6]!,
    msgId: m[7]!,
    structuredData: m[8]!,
    msg: m[9]!,
    record: JSON.parse(m[9]!) as Record<string, unknown>,
  };
}

export interface Collector {
  transport: 'udp' | 'tcp';
  port: number;
  url: string;
  messages: SyslogMessage[];
  /** A framing or parsing problem, if any. */
  problem(): string | undefined;
  /** Connections accepted so far (TCP). */
  connections(): number;
  waitForCount(n: number, ms?: number): Promise<void>;
  /** TCP: stop reading from every connection (and new ones) / read again. */
  pause(): void;
  resume(): void;
  /** TCP: destroy every connection (the client sees a reset). */
  dropConnections(): void;
  /** Stop listening (and drop connections); `listen()` again on the same port. */
  close(): Promise<void>;
  listen(): Promise<void>;
}

export async function startCollector(transport: 'udp' | 'tcp', port = 0): Promise<Collector> {
  const messages: SyslogMessage[] = [];
  let problem: string | undefined;
  let paused = false;
  let accepted = 0;
  const sockets = new Set<Socket>();
  let udp: dgram.Socket | undefined;
  let tcp: Server | undefined;
  const take = (raw: string) => {
    try {
      messages.push(parseSyslog(raw));
    } catch (e) {
      problem ??= (e as Error).message;
    }
  };
  const onConnection = (sock: Socket) => {
    accepted++;
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => {});
    let buf = Buffer.alloc(0);
    sock.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const sp = buf.indexOf(0x20);
        if (sp < 0) break;
        const lenText = buf.subarray(0, sp).toString('latin1');
        if (!/^[1-9]\d{0,8}$/.test(lenText)) {
          problem ??= `bad octet count ${JSON.stringify(lenText.slice(0, 20))}`;
          sock.destroy();
          return;
        }
        const len = Number(lenText);
        if (buf.length < sp + 1 + len) break;
        take(buf.subarray(sp + 1, sp + 1 + len).toString('utf8'));
        buf = buf.subarray(sp + 1 + len);
      }
    });
    // After the data listener, which would make it flow again.
    if (paused) sock.pause();
  };
  const c: Collector = {
    transport,
    port,
    url: '',
    messages,
    problem: () => problem,
    connections: () => accepted,
    async waitForCount(n, ms = 10_000) {
      const end = Date.now() + ms;
      while (messages.length < n) {
        if (problem !== undefined) throw new Error(`collector: ${problem}`);
        if (Date.now() > end) throw new Error(`collector got ${messages.length} messages, not ${n}, within ${ms} ms`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    pause() {
      paused = true;
      for (const s of sockets) s.pause();
    },
    resume() {
      paused = false;
      for (const s of sockets) s.resume();
    },
    dropConnections() {
      for (const s of sockets) s.resetAndDestroy();
    },
    async close() {
      for (const s of sockets) s.destroy();
      if (udp !== undefined) await new Promise<void>((r) => udp!.close(() => r()));
      if (tcp !== undefined) await new Promise<void>((r) => tcp!.close(() => r()));
      udp = undefined;
      tcp = undefined;
    },
    async listen() {
      if (transport === 'udp') {
        const s = dgram.createSocket('udp4');
        s.on('message', (m) => take(m.toString('utf8')));
        await new Promise<void>((r, j) => {
          s.once('error', j);
          s.bind(c.port, '127.0.0.1', () => r());
        });
        udp = s;
        c.port = s.address().port;
      } else {
        const s = createServer(onConnection);
        await new Promise<void>((r, j) => {
          s.once('error', j);
          s.listen(c.port, '127.0.0.1', () => r());
        });
        tcp = s;
        c.port = (s.address() as { port: number }).port;
      }
      c.url = `${transport}://127.0.0.1:${c.port}`;
    },
  };
  await c.listen();
  return c;
}
