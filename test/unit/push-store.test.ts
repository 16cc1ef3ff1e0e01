// app/db/queries/push.ts over a real store: an enrolment link enrols one phone (claimed in the
// same transaction as the device is added, also when claims race), only before it expires, only
// for a user that exists; a signature counter only moves forward; removing a user removes their
// phones; the VAPID pair is made once and its private key is stored sealed.
import { randomBytes } from 'node:crypto';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore, type Store } from '../../app/db/open.js';
import { countPushDevices, deletePushDevice, enrolPushDevice, findPushDeviceByToken, findPushEnrolment, insertPushEnrolment, listPushDevices, recordPushSignature, vapidKeys } from '../../app/db/queries/push.js';
import { deleteUser, insertUser } from '../../app/db/queries/users.js';
import { createSealer } from '../../app/db/secrets.js';

const T = 1_800_000_000_000;
const device = (n: number) => ({ name: `phone ${n}`, credentialId: `cred-${n}`, publicKey: randomBytes(77), signCount: 0, transports: ['internal', 'hybrid'], tokenHash: `tok-${n}` });

const P = suite<{ store: Store }>('db/queries/push', { store: undefined as unknown as Store });
P.before.each(async (ctx) => {
  ctx.store = openStore(':memory:');
  await insertUser(ctx.store, 'alice');
});
P.after.each((ctx) => ctx.store.close());

P('a link enrols one phone, before it expires, for a user that exists', async ({ store }) => {
  assert.not.ok(await insertPushEnrolment(store, 'nobody', 'h0', 'admin:root', T + 900_000));
  assert.ok(await insertPushEnrolment(store, 'alice', 'h1', 'admin:root', T + 900_000));
  assert.equal(await findPushEnrolment(store, 'h1', T), { userId: 1, username: 'alice' });
  assert.is(await findPushEnrolment(store, 'h1', T + 900_000), undefined, 'expired');
  const first = await enrolPushDevice(store, 'h1', T + 1000, device(1));
  assert.equal(first, { deviceId: 1, username: 'alice' });
  assert.is(await enrolPushDevice(store, 'h1', T + 2000, device(2)), undefined, 'used');
  assert.is(await findPushEnrolment(store, 'h1', T + 2000), undefined);
  assert.ok(await insertPushEnrolment(store, 'alice', 'h2', 'admin:root', T + 900_000));
  assert.is(await enrolPushDevice(store, 'h2', T + 900_000, device(3)), undefined, 'expired links enrol nothing');
  const [d] = await listPushDevices(store, 'alice');
  assert.equal([d!.name, d!.credentialId, d!.transports, d!.signCount, d!.createdAt, d!.lastUsedAt], ['phone 1', 'cred-1', ['internal', 'hybrid'], 0, T + 1000, null]);
  assert.is((await findPushDeviceByToken(store, 'tok-1'))?.username, 'alice');
});

P('four claims of one link over two connections to the same file: one phone', async () => {
  const dir = `/tmp/gatehouse-push-store-${randomBytes(4).toString('hex')}`;
  const { mkdirSync, rmSync } = await import('node:fs');
  mkdirSync(dir);
  try {
    const a = openStore(dir);
    const b = openStore(dir);
    await insertUser(a, 'bob');
    assert.ok(await insertPushEnrolment(a, 'bob', 'hx', 'admin:root', T + 900_000));
    const results = await Promise.all([a, b, a, b].map((s, i) => Promise.resolve().then(async () => await enrolPushDevice(s, 'hx', T, device(10 + i)))));
    assert.is(results.filter((r) => r !== undefined).length, 1);
    assert.is(await countPushDevices(a, 'bob'), 1);
    a.close();
    b.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

P('a signature counter only moves forward (0 stays 0 for authenticators without one)', async ({ store }) => {
  assert.ok(await insertPushEnrolment(store, 'alice', 'h1', 'admin:root', T + 900_000));
  const { deviceId } = (await enrolPushDevice(store, 'h1', T, device(1)))!;
  assert.ok(await recordPushSignature(store, deviceId, 0, T + 1));
  assert.ok(await recordPushSignature(store, deviceId, 5, T + 2));
  assert.not.ok(await recordPushSignature(store, deviceId, 5, T + 3), 'the same counter again');
  assert.not.ok(await recordPushSignature(store, deviceId, 4, T + 4), 'backwards');
  assert.not.ok(await recordPushSignature(store, deviceId, 0, T + 5), 'back to 0');
  assert.is((await listPushDevices(store, 'alice'))[0]!.lastUsedAt, T + 2);
  assert.ok(await deletePushDevice(store, deviceId));
  assert.not.ok(await recordPushSignature(store, deviceId, 9, T + 6), 'gone');
});

P("removing a user removes their phones and links", async ({ store }) => {
  assert.ok(await insertPushEnrolment(store, 'alice', 'h1', 'admin:root', T + 900_000));
  await enrolPushDevice(store, 'h1', T, device(1));
  assert.ok(await insertPushEnrolment(store, 'alice', 'h2', 'admin:root', T + 900_000));
  assert.ok(await deleteUser(store, 'alice'));
  assert.is(store.sqlite.prepare('SELECT count(*) FROM push_devices').pluck().get(), 0);
  assert.is(store.sqlite.prepare('SELECT count(*) FROM push_enrolments').pluck().get(), 0);
});

P('the VAPID pair is made once; its private key is stored sealed', async ({ store }) => {
  const sealer = createSealer(randomBytes(32));
  let made = 0;
  const gen = () => ({ publicKey: `pub-${++made}`, privateKey: `private-key-${made}-${'x'.repeat(30)}` });
  const k1 = await vapidKeys(store, sealer, gen);
  const k2 = await vapidKeys(store, sealer, gen);
  assert.equal(k1, k2);
  assert.is(made, 1);
  const raw = store.sqlite.prepare('SELECT private_key_sealed FROM push_keys').pluck().get() as Buffer;
  assert.not.ok(raw.includes(Buffer.from('private-key-1')));
});

P.run();
