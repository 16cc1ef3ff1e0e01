// A UDP relay between Gatehouse and the downstream FreeRADIUS (point --port-out at it). It keeps
// every request it saw, so a test can count what the downstream server was really asked, and it
// can drop requests, answer them itself or hold them back:
// - `drop`: requests to swallow (e.g. the first copy of one, to make Gatehouse time out);
// - `answer`: an answer of its own instead of the server's (e.g. one signed with another secret);
// - `hold`: hold requests back until this many are waiting (or `maxWaitMs` passed), then release
//   them all. It proves that this many requests were in flight at once, and records from how many
//   source ports they came.
import dgram from 'node:dgram';
import { decodePacket, type RadiusPacket } from '../../app/radius/codec.js';

export interface RelayOptions {
  /** Requests to hold before releasing them together; default 1 (each passes at once). */
  hold?: number;
  /** Release held requests after this long even if fewer are waiting; default 3 s. */
  maxWaitMs?: number;
  /** True for a request the downstream server should never see. */
  drop?: (request: RadiusPacket) => boolean;
  /** The relay's own answer to a request (sent back instead of forwarding it), or undefined to forward. */
  answer?: (request: RadiusPacket) => Buffer | undefined;
}

export interface Relay {
  port: number;
  /** Every request Gatehouse sent, in order, dropped and self-answered ones included. */
  requests(): RadiusPacket[];
  /** Largest number of requests held at the same time. */
  peakHeld(): number;
  /** Distinct source ports Gatehouse used to reach the relay. */
  sourcePorts(): number;
  close(): Promise<void>;
}

export async function startRelay(target: { port: number }, opts: RelayOptions = {}): Promise<Relay> {
  const hold = opts.hold ?? 1;
  const front = dgram.createSocket('udp4');
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', r));
  // One back socket per Gatehouse source port, so RADIUS identifiers from different sockets do
  // not collide at the server and answers find their way back.
  const backs = new Map<number, dgram.Socket>();
  const seen: RadiusPacket[] = [];
  let held: { buf: Buffer; back: dgram.Socket }[] = [];
  let peak = 0;
  let timer: NodeJS.Timeout | undefined;
  const release = () => {
    clearTimeout(timer);
    timer = undefined;
    for (const h of held) h.back.send(h.buf, target.port, '127.0.0.1');
    held = [];
  };
  front.on('message', (buf, rinfo) => {
    const packet = decodePacket(Buffer.from(buf));
    seen.push(packet);
    if (opts.drop?.(packet) === true) return;
    const own = opts.answer?.(packet);
    if (own !== undefined) {
      front.send(own, rinfo.port, rinfo.address);
      return;
    }
    let back = backs.get(rinfo.port);
    if (back === undefined) {
      const b = dgram.createSocket('udp4');
      b.bind(0, '127.0.0.1');
      b.on('message', (answer) => front.send(answer, rinfo.port, rinfo.address));
      backs.set(rinfo.port, b);
      back = b;
    }
    held.push({ buf, back });
    peak = Math.max(peak, held.length);
    if (held.length >= hold) release();
    else timer ??= setTimeout(release, opts.maxWaitMs ?? 3000);
  });
  return {
    port: (front.address() as { port: number }).port,
    requests: () => [...seen],
    peakHeld: () => peak,
    sourcePorts: () => backs.size,
    async close() {
      clearTimeout(timer);
      await Promise.all([front, ...backs.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
