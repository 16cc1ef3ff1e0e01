// Message-Authenticator (BlastRADIUS, CVE-2024-3596) on both legs, through bin/gatehouse and a
// real FreeRADIUS:
// - a client given by --address-secret-in is `auto`: once it has sent a Message-Authenticator,
//   one is required from it, and that is remembered across a reload of the settings and a
//   restart (it used to be forgotten, so an attacker could strip it again);
// - --downstream-require-message-authenticator yes: answers of the downstream server without a
//   valid one are ignored (FreeRADIUS 3.2.1 sends none), so the login is not answered.
import { rm } from 'node:fs/promises';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attr, Code } from '../../app/radius/codec.js';
import { auditRecords, metric, startAppliance, tempDir, waitFor } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { createTestClient, str } from '../helpers/radius-client.js';

const CS = 'ma-nas-secret';
const DS = 'ma-down-secret';

interface Ctx {
  fr: FreeRadius;
}

const M = suite<Ctx>('Message-Authenticator on both legs');

M.before(async (ctx) => {
  ctx.fr = await startFreeRadius({ users: [{ name: 'mia', password: 'mia-pw' }], clients: [{ address: '127.0.0.1', secret: DS }] });
});
M.after(async (ctx) => {
  await ctx.fr?.stop();
});

const args = (fr: FreeRadius, extra: string[] = []) => ['--downstream-address', '127.0.0.1', '--port-out', String(fr.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`, '--unenrolled-users', 'allow', ...extra];

M('an auto client from a flag stays required to sign once it has signed: after a reload and after a restart', async ({ fr }) => {
  const dataDir = await tempDir();
  try {
    let gh = await startAppliance({ dataDir, args: args(fr) });
    let client = await createTestClient({ port: gh.radiusPort, secret: CS });
    const unsigned = () => client.request(client.build([str(Attr.UserName, 'mia')], { password: 'mia-pw', ma: false }), 1500);
    const signed = () => client.request(client.build([str(Attr.UserName, 'mia')], { password: 'mia-pw', ma: true }), 3000);
    try {
      assert.is((await unsigned())?.packet.code, Code.AccessAccept, 'not required before it was seen');
      assert.is((await signed())?.packet.code, Code.AccessAccept);
      assert.is(await unsigned(), undefined, 'required from now on: dropped');
      // A settings change makes the appliance reload its configuration (clients included).
      assert.is((await gh.cli(['settings', 'set', 'message-title', 'Sign in'])).code, 0);
      await waitFor('the reload', () => gh.output().includes('configuration reloaded'));
      assert.is(await unsigned(), undefined, 'still required after a reload');
    } finally {
      await client.close();
      await gh.stop();
    }
    gh = await startAppliance({ dataDir, args: args(fr) });
    client = await createTestClient({ port: gh.radiusPort, secret: CS });
    try {
      assert.is(await unsigned(), undefined, 'still required after a restart');
      assert.is((await signed())?.packet.code, Code.AccessAccept);
      assert.ok((await metric(gh, 'drops_total{reason="missing_message_authenticator"}')) >= 1);
      const drops = (await auditRecords(gh)).filter((r) => r['reason'] === 'missing_message_authenticator');
      assert.ok(drops.length >= 1);
    } finally {
      await client.close();
      await gh.stop();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

M('--downstream-require-message-authenticator yes: an unsigned downstream answer is not taken', async ({ fr }) => {
  const gh = await startAppliance({ args: args(fr, ['--downstream-require-message-authenticator', 'yes', '--proxy-receive-timeout', '1']) });
  const client = await createTestClient({ port: gh.radiusPort, secret: CS });
  try {
    // FreeRADIUS 3.2.1 answers without a Message-Authenticator: the answer is ignored, the
    // exchange times out, and the client gets nothing (it would retry or fail over).
    const req = client.build([str(Attr.UserName, 'mia')], { password: 'mia-pw' });
    client.send(req);
    await waitFor('the timeout record', async () => (await auditRecords(gh)).some((r) => r['reason'] === 'downstream_timeout'));
    assert.is(client.received(req.identifier).length, 0, 'the unsigned answer was relayed');
  } finally {
    await client.close();
    await gh.stop();
  }
});

M.run();
