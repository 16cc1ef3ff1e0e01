// app/lib/udp.ts: the RADIUS legs' sockets. An IP literal is sent to in the same turn (no lookup
// tick); a name still goes through the resolver; IPv6 literals work on a udp6 socket.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import dgram from 'node:dgram';
import { udpSocket } from '../../app/lib/udp.js';

const Udp = suite('lib/udp: sockets of the RADIUS legs');

/** A receiver on loopback, and the next datagram it gets. */
async function receiver(type: 'udp4' | 'udp6'): Promise<{ port: number; next(): Promise<Buffer>; close(): void }> {
  const sock = dgram.createSocket(type);
  await new Promise<void>((resolve) => sock.bind(0, type === 'udp4' ? '127.0.0.1' : '::1', resolve));
  return {
    port: sock.address().port,
    next: () => new Promise<Buffer>((resolve) => sock.once('message', (b) => resolve(b))),
    close: () => sock.close(),
  };
}

/** A udpSocket of this type bound to any port, a receiver on loopback, both closed after `fn`. */
async function withPair(type: 'udp4' | 'udp6', fn: (tx: dgram.Socket, rx: Awaited<ReturnType<typeof receiver>>) => Promise<void>): Promise<void> {
  const rx = await receiver(type);
  const tx = udpSocket(type);
  await new Promise<void>((resolve) => tx.bind(0, resolve));
  try {
    await fn(tx, rx);
  } finally {
    tx.close();
    rx.close();
  }
}

Udp('an IPv4 literal: delivered, sent within send() (no lookup tick first)', () =>
  withPair('udp4', async (tx, rx) => {
    const got = rx.next();
    const order: string[] = [];
    // dgram queues a send's callback on process.nextTick once the kernel has the datagram. With
    // Node's default lookup the send itself first waits for a tick of its own, so a tick queued
    // right after send() runs before the callback; here the send is done within send().
    tx.send(Buffer.from('hello'), rx.port, '127.0.0.1', () => order.push('sent'));
    process.nextTick(() => order.push('next tick'));
    assert.is((await got).toString(), 'hello');
    assert.equal(order, ['sent', 'next tick']);
  }),
);

Udp('an IPv6 literal on a udp6 socket', () =>
  withPair('udp6', async (tx, rx) => {
    const got = rx.next();
    tx.send(Buffer.from('six'), rx.port, '::1');
    assert.is((await got).toString(), 'six');
  }),
);

Udp('a name still goes through the resolver', () =>
  withPair('udp4', async (tx, rx) => {
    const got = rx.next();
    tx.send(Buffer.from('named'), rx.port, 'localhost');
    assert.is((await got).toString(), 'named');
    const failed = await new Promise<Error | null>((r) => tx.send(Buffer.from('x'), rx.port, 'no-such-host.invalid', (e) => r(e)));
    assert.ok(failed instanceof Error, 'an unknown name fails the send');
  }),
);

Udp.run();
