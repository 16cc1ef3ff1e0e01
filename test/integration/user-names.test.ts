// Every spelling of an enrolled user gets that user's second factor and lock, through the real
// thing: our RADIUS client -> bin/gatehouse (--strip-realm yes) -> a real FreeRADIUS that accepts
// the password for each spelling (as LDAP, Active Directory or NPS do, ignoring case and
// surrounding spaces, or taking user@realm); and the Windows logon pipe with DOMAIN\user and UPNs.
// Before the canonical name, "alice " or " Alice" with the right password was accepted without
// alice's code, and accepted while alice was locked.
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Attr, Code, getAttr, getString } from '../../app/radius/codec.js';
import { auditRecords, startAppliance, tempDir, type Appliance } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { connectPipe, type PipeClient } from '../helpers/pipe-client.js';
import { createTestClient, str, type TestClient } from '../helpers/radius-client.js';
import { seedFromEnrolment, totpCode } from '../helpers/totp.js';

const CS = 'names-nas-secret';
const DS = 'names-down-secret';
const PASSWORD = 'alice-password';
/**
 * What the downstream server accepts as alice (its own matching rules, not Gatehouse's). DOMAIN\user
 * is tried on the Windows side, where it is what people type; FreeRADIUS's users file does not
 * take a backslash in a name.
 */
const SPELLINGS = ['alice ', ' Alice', 'ALICE', 'alice@corp.example', 'Alice@Corp.Example', 'ａｌｉｃｅ'];

interface Ctx {
  fr: FreeRadius;
  gh: Appliance;
  client: TestClient;
  pipe: PipeClient;
  seed: Buffer;
}

const N = suite<Ctx>('user names: one user, every spelling');

N.before(async (ctx) => {
  ctx.fr = await startFreeRadius({ users: ['alice', 'bob', 'al ice', ...SPELLINGS].map((name) => ({ name, password: PASSWORD })), clients: [{ address: '127.0.0.1', secret: DS }] });
  const sock = join(await tempDir('gatehouse-names-'), 'logon.sock');
  ctx.gh = await startAppliance({ args: ['--downstream-address', '127.0.0.1', '--port-out', String(ctx.fr.port), '--secret-out', DS, '--address-secret-in', `127.0.0.1:${CS}`, '--strip-realm', 'yes', '--pipe-path', sock] });
  const enrol = await ctx.gh.cli(['totp', 'enroll', 'Alice']);
  assert.is(enrol.code, 0, enrol.stderr);
  ctx.seed = seedFromEnrolment(enrol.stdout);
  ctx.client = await createTestClient({ port: ctx.gh.radiusPort, secret: CS });
  ctx.pipe = await connectPipe(sock);
});

N.after(async (ctx) => {
  ctx.pipe?.destroy();
  await ctx.client?.close();
  await ctx.gh?.stop();
  await ctx.fr?.stop();
});

const login = (ctx: Ctx, name: string, password = PASSWORD) => ctx.client.request(ctx.client.build([str(Attr.UserName, name)], { password }));

N('with the right password every spelling gets alice\'s code challenge, never an accept; the audit names alice', async (ctx) => {
  for (const spelling of ['alice', ...SPELLINGS]) {
    const r = await login(ctx, spelling);
    assert.is(r?.packet.code, Code.AccessChallenge, `${JSON.stringify(spelling)}: challenged for alice's code`);
    assert.is(getString(r!.packet.attributes, Attr.ReplyMessage), 'Enter the code from your authenticator app');
  }
  const rows = (await auditRecords(ctx.gh)).filter((r) => r['event'] === 'radius.auth' && r['reason'] === 'totp_challenge');
  assert.is(rows.length, SPELLINGS.length + 1);
  for (const r of rows) assert.is(r['username'], 'alice');
  const sent = rows.map((r) => (r['details'] as Record<string, unknown>)['sentUsername']).filter((v) => v !== undefined);
  assert.equal(sent, SPELLINGS, 'the name as sent is kept beside the canonical one');
});

N("the challenge answered under another spelling is alice's (bound to the canonical name)", async (ctx) => {
  const first = await login(ctx, 'ALICE');
  const state = getAttr(first!.packet.attributes, Attr.State)!;
  const answer = await ctx.client.request(ctx.client.build([str(Attr.UserName, ' alice'), { type: Attr.State, value: Buffer.from(state) }], { password: totpCode(ctx.seed) }));
  assert.is(answer?.packet.code, Code.AccessAccept);
});

N('an appended code works under any spelling, and is used once across spellings', async (ctx) => {
  // The step after the one the previous test used, so that it is fresh.
  const code = totpCode(ctx.seed, 1);
  const ok = await login(ctx, 'alice@corp.example', `${PASSWORD},${code}`);
  assert.is(ok?.packet.code, Code.AccessAccept);
  const replay = await login(ctx, 'alice ', `${PASSWORD},${code}`);
  assert.is(replay?.packet.code, Code.AccessReject);
  assert.is(getString(replay!.packet.attributes, Attr.ReplyMessage), 'That code was already used; wait for the next one.');
});

N('while alice is locked, every spelling is refused with the lock message', async (ctx) => {
  assert.is((await ctx.gh.cli(['user', 'lock', ' ALICE '])).code, 0);
  try {
    for (const spelling of ['alice', ...SPELLINGS]) {
      const r = await login(ctx, spelling);
      assert.is(r?.packet.code, Code.AccessReject, JSON.stringify(spelling));
      assert.is(getString(r!.packet.attributes, Attr.ReplyMessage), 'This account is locked; ask your administrator.');
    }
    for (const username of ['CORP\\alice', 'alice@corp.example', ' Alice']) {
      const w = await ctx.pipe.request({ op: 'authenticate', username, domain: 'CORP', workstation: 'PC-1', scenario: 'logon' });
      assert.is(w['result'], 'locked', username);
    }
  } finally {
    assert.is((await ctx.gh.cli(['user', 'unlock', 'alice'])).code, 0);
  }
});

N('Windows logon maps DOMAIN\\user and UPNs to the same user: a code is required', async (ctx) => {
  for (const username of ['CORP\\alice', 'alice@corp.example', 'Alice']) {
    const w = await ctx.pipe.request({ op: 'authenticate', username, domain: 'CORP', workstation: 'PC-1', scenario: 'logon' });
    assert.equal([w['result'], w['message']], ['code_required', 'Enter the code from your authenticator app'], username);
  }
});

N('a name with whitespace inside or control characters is refused before the password is checked', async (ctx) => {
  for (const bad of ['al ice', 'alice\u200b', 'ali\tce']) {
    const r = await login(ctx, bad);
    assert.is(r?.packet.code, Code.AccessReject, JSON.stringify(bad));
    assert.is(getString(r!.packet.attributes, Attr.ReplyMessage), 'The user name is not valid.');
  }
  const rows = (await auditRecords(ctx.gh)).filter((r) => r['reason'] === 'bad_user_name');
  assert.is(rows.length, 3);
  // The downstream server accepts 'al ice' with this password: a record without `downstream`
  // (set once the server has answered) shows it was never asked.
  for (const r of rows) assert.is((r['details'] as Record<string, unknown>)['downstream'], undefined);
});

N.run();
