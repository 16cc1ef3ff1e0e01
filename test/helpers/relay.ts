// A UDP relay between Gatehouse and the downstream FreeRADIUS that holds requests back until
// `hold` of them are waiting (or `maxWaitMs` passed), then releases them all. It proves that this
// many requests were in flight at once, and records from how many source ports they came.
import dgram from 'node:dgram';

export interface HoldingRelay {
  port: number;
  /** Largest number of requests held at the same time. */
  peakHeld(): number;
  /** Distinct source ports Gatehouse used to reach the relay. */
  sourcePorts(): number;
  close(): Promise<void>;
}

export async function startHoldingRelay(target: { port: number }, hold: number, maxWaitMs = 3000): Promise<HoldingRelay> {
  const front = dgram.createSocket('udp4');
  await new Promise<void>((r) => front.bind(0, '127.0.0.1', r));
  // One back socket per Gatehouse source port, so RADIUS identifiers from different sockets do
  // not collide at the server and answers find their way back.
  const backs = new Map<number, dgram.Socket>();
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
    else timer ??= setTimeout(release, maxWaitMs);
  });
  return {
    port: (front.address() as { port: number }).port,
    peakHeld: () => peak,
    sourcePorts: () => backs.size,
    async close() {
      clearTimeout(timer);
      await Promise.all([front, ...backs.values()].map((s) => new Promise<void>((r) => s.close(() => r()))));
    },
  };
}
