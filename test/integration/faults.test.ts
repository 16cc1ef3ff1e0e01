// Faults: the process killed with logins waiting, the store busy or its disk full, a downstream
// server answering garbage. Nobody gets in without both factors, every answered request has its
// audit record (the chain verifies after a crash), and the service recovers by itself.
import dgram from 'node:dgram';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attr, Code } from '../../app/radius/codec.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { auditRecords, metric, startAppliance, tempDir, waitFor, type Appliance } from '../helpers/appliance.js';
import { startPushServer } from '../helpers/push-server.js';
import { createTestClient, str, type Sent, type TestClient } from '../helpers/radius-client.js';

const CS = 'faults-nas-secret';
const DS = 'faults-down-secret';
const users = Array.from({ length: 20 }, (_, i) => ({ name: `f${i}`, password: `fpw${i}` }));

const F = suite<{ fr: FreeRadius }>('faults');
F.before(async (ctx) => {
  ctx.fr = await startFreeRadius({ users, clients: [{ address: '127.0.0.1', secret: DS }] });
});
F.after(async (ctx) => {
  await ctx.fr?.stop();
});
const base = (fr: FreeRadius) => ['--downstream-address', '127.0.0.1', '--port-out', String(fr.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`];

/**
 * Send `req` while the store cannot be written and wait until its audit record failed: by then the
 * request is settled, and it must not have been answered (an answer leaves only after its record).
 */
async function assertRefused(gh: Appliance, c: TestClient, req: Sent, what: string): Promise<void> {
  const auditWriteErrors = () => metric(gh, 'errors_total{reason="audit_write"}');
  const before = await auditWriteErrors();
  c.send(req);
  await waitFor(`${what} to fail its audit write`, async () => (await auditWriteErrors()) > before, 20_000);
  assert.is(c.received(req.identifier).length, 0, `${what} was answered without an audit record`);
}

F('kill -9 with logins waiting on the phone: nobody was let in, the audit chain verifies, a restart serves again', async ({ fr }) => {
  const push = await startPushServer({ kind: 'pending' });
  const dataDir = await tempDir();
  const gh = await startAppliance({ dataDir, args: [...base(fr), '--notakey-host', push.url, '--notakey-access-id', 'x'] });
  const c = await createTestClient({ port: gh.radiusPort, secret: CS });
  try {
    // Some logins answered (wrong passwords), some waiting on the phone.
    for (let i = 0; i < 5; i++) assert.is((await c.request(c.build([str(Attr.UserName, `f${i}`)], { password: 'wrong' })))?.packet.code, Code.AccessReject);
    const waiting = [5, 6, 7, 8].map((i) => c.build([str(Attr.UserName, `f${i}`)], { password: `fpw${i}` }));
    for (const w of waiting) c.send(w);
    await waitFor('four pushes', () => push.creates.length >= 4);
    assert.is(push.creates.length, 4);
    assert.is(await gh.stop('SIGKILL'), null);
    for (const w of waiting) assert.ok(c.received(w.identifier).every((r) => r.packet.code !== Code.AccessAccept));
    const again = await startAppliance({ dataDir, args: [...base(fr), '--unenrolled-users', 'allow'] });
    try {
      const verify = await again.cli(['audit', 'verify']);
      assert.is(verify.code, 0, verify.stderr);
      const audit = await again.cli(['audit', 'export']);
      assert.is(audit.stdout.split('\n').filter((l) => /"reason":"downstream_reject"/.test(l)).length, 5, 'every answered request has its record');
      assert.not.match(audit.stdout, /"outcome":"accept"/);
      const c2 = await createTestClient({ port: again.radiusPort, secret: CS });
      assert.is((await c2.request(c2.build([str(Attr.UserName, 'f9')], { password: 'fpw9' })))?.packet.code, Code.AccessAccept);
      await c2.close();
    } finally {
      await again.stop();
    }
  } finally {
    await c.close();
    await push.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
});

F('store busy longer than the busy timeout: no answer (fail closed), then it recovers', async ({ fr }) => {
  const gh = await startAppliance({ args: [...base(fr), '--unenrolled-users', 'allow'] });
  const c = await createTestClient({ port: gh.radiusPort, secret: CS });
  const db = new Database(join(gh.dataDir, 'gatehouse.sqlite'));
  try {
    // A first login, so that what a client's first request stores (its Message-Authenticator
    // was seen) is stored before the lock: the request below then fails at its audit record.
    assert.is((await c.request(c.build([str(Attr.UserName, 'f10')], { password: 'fpw10' })))?.packet.code, Code.AccessAccept);
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN EXCLUSIVE');
    await assertRefused(gh, c, c.build([str(Attr.UserName, 'f10')], { password: 'fpw10' }), 'a request while the store is locked');
    db.exec('COMMIT');
    const res = await c.request(c.build([str(Attr.UserName, 'f10')], { password: 'fpw10' }), 8000);
    assert.is(res?.packet.code, Code.AccessAccept);
    assert.is(gh.child.exitCode, null);
    assert.is((await gh.cli(['audit', 'verify'])).code, 0);
  } finally {
    db.close();
    await c.close();
    await gh.stop();
  }
});

F('disk full under the data directory: no answer, no crash; space freed: it recovers', async ({ fr }) => {
  const mnt = await tempDir('gatehouse-full-');
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', mnt]);
  } catch (e) {
    throw new Error(`mounting a small tmpfs failed (run the tests as root, as .ci/run does): ${(e as Error).message}`);
  }
  const dataDir = join(mnt, 'data');
  mkdirSync(dataDir);
  const gh = await startAppliance({ dataDir, args: [...base(fr), '--unenrolled-users', 'allow'] });
  const c = await createTestClient({ port: gh.radiusPort, secret: CS });
  const filler = join(mnt, 'filler');
  try {
    assert.is((await c.request(c.build([str(Attr.UserName, 'f11')], { password: 'fpw11' })))?.packet.code, Code.AccessAccept);
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${filler}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops with "No space left on device": that is the point
    }
    // Full: no audit record can be written, so no request is answered (fail closed).
    const whileFull = Array.from({ length: 5 }, (_, i) => c.build([str(Attr.UserName, 'f12'), str(Attr.CallingStationId, `x${i}`)], { password: 'fpw12' }));
    for (const [i, req] of whileFull.entries()) await assertRefused(gh, c, req, `request ${i} on the full disk`);
    assert.is(gh.child.exitCode, null, 'the appliance crashed on a full disk');
    rmSync(filler);
    // Space freed: the client's retransmission of a refused request is answered now, as is a new one.
    const retried = await c.request(whileFull.at(-1)!, 10_000, 1000);
    assert.is(retried?.packet.code, Code.AccessAccept);
    const res = await c.request(c.build([str(Attr.UserName, 'f13')], { password: 'fpw13' }), 5000, 1000);
    assert.is(res?.packet.code, Code.AccessAccept);
    assert.is((await gh.cli(['audit', 'verify'])).code, 0);
    const f12 = (await auditRecords(gh)).filter((r) => r['username'] === 'f12');
    assert.equal(f12.map((r) => [r['outcome'], (r['details'] as Record<string, unknown>)['callingStationId']]), [['accept', 'x4']], 'only the answer after recovery has a record');
  } finally {
    await c.close();
    await gh.stop();
    execFileSync('umount', ['-l', mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
});

F('a downstream server answering garbage or with the wrong secret: ignored, timed out, audited; the service goes on', async ({ fr }) => {
  const bad = dgram.createSocket('udp4');
  await new Promise<void>((r) => bad.bind(0, '127.0.0.1', r));
  let n = 0;
  bad.on('message', (msg, rinfo) => {
    n++;
    const junk = n % 2 === 0 ? Buffer.concat([Buffer.from([2, msg[1]!, 0, 20]), Buffer.alloc(16)]) : Buffer.from('not radius at all');
    bad.send(junk, rinfo.port, rinfo.address);
  });
  const port = (bad.address() as { port: number }).port;
  const gh = await startAppliance({ args: ['--downstream-address', '127.0.0.1', '--port-out', String(port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`, '--proxy-receive-timeout', '1', '--unenrolled-users', 'allow'] });
  const c = await createTestClient({ port: gh.radiusPort, secret: CS });
  try {
    const reqs = [0, 1, 2, 3].map((i) => c.build([str(Attr.UserName, `f${14 + i}`)], { password: 'x' }));
    for (const r of reqs) c.send(r);
    // An answer taken from the garbage would be relayed at once, and that request never time out.
    await waitFor('four downstream timeouts', async () => (await metric(gh, 'errors_total{reason="downstream_timeout"}')) >= 4);
    for (const [i, r] of reqs.entries()) assert.is(c.received(r.identifier).length, 0, `f${14 + i} was answered`);
    const audit = await gh.cli(['audit', 'export']);
    assert.is(audit.stdout.split('\n').filter((l) => l.includes('downstream_timeout')).length, 4);
    assert.not.match(audit.stdout, /"outcome":"accept"/);
    assert.is(gh.child.exitCode, null);
  } finally {
    await c.close();
    await gh.stop();
    bad.close();
  }
  void fr;
});

F.run();
