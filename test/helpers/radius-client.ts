// A RADIUS client of our own for tests: what radclient cannot do (MS-CHAPv2 with key checks,
// exact retransmissions, thousands in flight, malformed packets). Responses are verified with
// the same secret, so a wrong signature shows up as a test failure.
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { checkResponse, Code, decodePacket, encodeRequest, type Attribute, type RadiusPacket } from '../../app/radius/codec.js';
import { hidePassword } from '../../app/radius/crypto.js';

export interface Sent {
  wire: Buffer;
  authenticator: Buffer;
  identifier: number;
}

export interface Received {
  packet: RadiusPacket;
  wire: Buffer;
  authentic: boolean;
  ma: 'absent' | 'valid' | 'invalid';
}

export interface TestClient {
  port: number;
  /** Build an Access-Request; `password` is hidden as User-Password. */
  build(attrs: Attribute[], opts?: { password?: string; ma?: boolean; identifier?: number; code?: number }): Sent;
  send(s: Sent | Buffer): void;
  /** Wait for the answer to a request (matched by identifier), or undefined after timeoutMs. */
  answer(s: Sent, timeoutMs?: number): Promise<Received | undefined>;
  /** Send and wait, retransmitting the same bytes every `retryMs`. */
  request(s: Sent, timeoutMs?: number, retryMs?: number): Promise<Received | undefined>;
  /** Every datagram received for this identifier so far (to count repeated answers). */
  received(identifier: number): Received[];
  close(): Promise<void>;
}

export const str = (type: number, v: string): Attribute => ({ type, value: Buffer.from(v, 'utf8') });

export async function createTestClient(server: { host?: string; port: number; secret: string; bindAddress?: string }): Promise<TestClient> {
  const sock = dgram.createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, server.bindAddress ?? '127.0.0.1', r));
  // Hundreds of answers can arrive at once; the default buffer would drop some.
  try {
    sock.setRecvBufferSize(4 * 1024 * 1024);
  } catch {
    // capped by net.core.rmem_max
  }
  const secret = Buffer.from(server.secret, 'utf8');
  const host = server.host ?? '127.0.0.1';
  const requests = new Map<number, Sent>();
  const got = new Map<number, Received[]>();
  const waiters = new Map<number, (r: Received) => void>();
  let nextId = 0;
  sock.on('message', (wire) => {
    let packet: RadiusPacket;
    try {
      packet = decodePacket(wire);
    } catch {
      return;
    }
    const req = requests.get(packet.identifier);
    if (req === undefined) return;
    const check = checkResponse(wire, packet, req.authenticator, secret);
    const r: Received = { packet, wire, authentic: check.authentic, ma: check.ma };
    const list = got.get(packet.identifier) ?? [];
    list.push(r);
    got.set(packet.identifier, list);
    const w = waiters.get(packet.identifier);
    if (w) {
      waiters.delete(packet.identifier);
      w(r);
    }
  });
  const client: TestClient = {
    port: (sock.address() as { port: number }).port,
    build(attrs, opts = {}) {
      const identifier = opts.identifier ?? nextId++ & 255;
      const authenticator = randomBytes(16);
      const all = [...attrs];
      if (opts.password !== undefined) all.push({ type: 2, value: hidePassword(Buffer.from(opts.password, 'utf8'), secret, authenticator) });
      const wire = encodeRequest(opts.code ?? Code.AccessRequest, identifier, authenticator, all, secret, opts.ma ?? true);
      const s = { wire, authenticator, identifier };
      requests.set(identifier, s);
      got.delete(identifier);
      return s;
    },
    send(s) {
      sock.send(Buffer.isBuffer(s) ? s : s.wire, server.port, host);
    },
    answer(s, timeoutMs = 5000) {
      const have = got.get(s.identifier);
      if (have !== undefined && have.length > 0) return Promise.resolve(have[have.length - 1]);
      return new Promise((resolve) => {
        const t = setTimeout(() => {
          waiters.delete(s.identifier);
          resolve(undefined);
        }, timeoutMs);
        waiters.set(s.identifier, (r) => {
          clearTimeout(t);
          resolve(r);
        });
      });
    },
    async request(s, timeoutMs = 5000, retryMs = 0) {
      client.send(s);
      let timer: NodeJS.Timeout | undefined;
      if (retryMs > 0) timer = setInterval(() => client.send(s), retryMs);
      try {
        return await client.answer(s, timeoutMs);
      } finally {
        clearInterval(timer);
      }
    },
    received: (id) => got.get(id) ?? [],
    close: () => new Promise<void>((r) => sock.close(() => r())),
  };
  return client;
}
