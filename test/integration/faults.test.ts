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
import { startAppliance, tempDir } from '../helpers/appliance.js';
import { startPushServer } from '../helpers/push-server.js';
import { createTestClient, str } from '../helpers/radius-client.js';

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
    const t0 = Date.now();
    while (push.creates.length < 4 && Date.now() - t0 < 5000) await new Promise((r) => setTimeout(r, 20));
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
    db.pragma('busy_timeout = 0');
    db.exec('BEGIN EXCLUSIVE');
    const req = c.build([str(Attr.UserName, 'f10')], { password: 'fpw10' });
    assert.is(await c.request(req, 6500), undefined, 'answered without an audit record');
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
    let answeredWhileFull = 0;
    for (let i = 0; i < 30; i++) {
      const r = await c.request(c.build([str(Attr.UserName, 'f12'), str(Attr.CallingStationId, `x${i}`)], { password: 'fpw12' }), 300);
      if (r !== undefined) answeredWhileFull++;
    }
    assert.is(gh.child.exitCode, null, 'the appliance crashed on a full disk');
    rmSync(filler);
    const res = await c.request(c.build([str(Attr.UserName, 'f13')], { password: 'fpw13' }), 5000, 1000);
    assert.is(res?.packet.code, Code.AccessAccept);
    assert.is((await gh.cli(['audit', 'verify'])).code, 0);
    const audit = await gh.cli(['audit', 'export']);
    const accepts = audit.stdout.split('\n').filter((l) => l.includes('"outcome":"accept"') && l.includes('"f12"')).length;
    assert.is(accepts, answeredWhileFull, 'every answer while full has its audit record');
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
    for (let i = 0; i < 4; i++) assert.is(await c.request(c.build([str(Attr.UserName, `f${14 + i}`)], { password: 'x' }), 1500), undefined);
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
