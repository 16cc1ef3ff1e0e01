// A flood of packets from thousands of source addresses that are no RADIUS client, through the
// real socket of bin/gatehouse: every drop is counted, but the audit log gets a bounded number of
// records (4,980 sources once wrote 4,980 radius.drop records in a quarter of a second). The
// sources are addresses of 127.0.0.0/8, all of which are this machine's on Linux.
import dgram from 'node:dgram';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { auditRecords, metric, startAppliance, waitFor, type Appliance } from '../helpers/appliance.js';
import { MAX_RECORDS_PER_MINUTE } from '../../app/radius/drops.js';

const SOURCES = 5000;

interface Ctx {
  gh: Appliance;
}

const F = suite<Ctx>('drop flood from many sources');

F.before(async (ctx) => {
  ctx.gh = await startAppliance({ args: ['--address-secret-in', '10.0.0.1:flood-secret'] });
});
F.after(async (ctx) => {
  await ctx.gh?.stop();
});

async function sendFrom(address: string, port: number, packet: Buffer): Promise<void> {
  const sock = dgram.createSocket('udp4');
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, address, () => resolve());
    });
    await new Promise<void>((resolve, reject) => sock.send(packet, port, '127.0.0.1', (e) => (e ? reject(e) : resolve())));
  } finally {
    sock.close();
  }
}

F(`${SOURCES} drops from ${SOURCES} sources: all counted, at most ${MAX_RECORDS_PER_MINUTE} drop records written`, async ({ gh }) => {
  // An Access-Request header with nothing in it: from an unknown client it is dropped unread.
  const packet = Buffer.alloc(20);
  packet[0] = 1;
  packet.writeUInt16BE(20, 2);
  for (let i = 0; i < SOURCES; i++) await sendFrom(`127.1.${Math.floor(i / 250)}.${(i % 250) + 1}`, gh.radiusPort, packet);
  await waitFor('every drop counted', async () => (await metric(gh, 'drops_total{reason="unknown_client"}')) === SOURCES, 20_000);
  const drops = (await auditRecords(gh)).filter((r) => r['event'] === 'radius.drop');
  assert.ok(drops.length <= MAX_RECORDS_PER_MINUTE, `${drops.length} drop records`);
  assert.ok(drops.length >= 1);
  for (const r of drops) assert.is(r['reason'], 'unknown_client');
});

F.run();
