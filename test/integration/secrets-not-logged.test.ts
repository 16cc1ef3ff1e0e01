// No secret leaves Gatehouse in clear. bin/gatehouse runs with its most verbose log
// (LOG_LEVEL=debug: the only verbosity switch it has) in front of a real FreeRADIUS, with the
// push-API stand-in and the Windows logon pipe, and goes through every flow that handles a secret:
// RADIUS PAP (right and wrong passwords), an appended TOTP code, a challenge and its code (wrong,
// then right), CHAP, a wrong client shared secret, clients with stored secrets (command line,
// JSON API, admin UI), the stored downstream secret, TOTP enrolment (command line and API), admin
// sign-in over HTTP (wrong password, password, TOTP enrolment with a code), the session cookie
// and CSRF token, API tokens (right and wrong), an agent token with a code, the pipe with a code,
// and push approvals (RADIUS and Windows).
//
// Then none of those values — nor their hex, base64 or base32 forms — may be found in the
// process's stdout/stderr, in `gatehouse audit export` (JSON lines and CSV), in the output of the
// commands that are not meant to show one, or in any file of the data directory but the SQLite
// store. The store holds secrets only sealed (shared secrets, TOTP seeds) or hashed (passwords,
// tokens, session ids): its raw bytes (main file, WAL and shared memory) are searched for the
// plaintext values, the seeds' raw bytes and base32, and the codes.
//
// Codes are 6 digits, and 6-digit runs occur by chance (a hex hash holds digit runs; an ISO time
// or a port does not hold six in a row, but an epoch in ms holds thirteen). A code therefore
// counts as found only as a number of its own: not preceded or followed by a letter or digit.
// That is how a logged code would look (`"code":"123456"`, `code=123456`, `pw,123456`), while a
// hash that happens to contain those digits is not a finding. The appended form `password,code`
// is searched for as a whole, too.
import { randomBytes, randomInt } from 'node:crypto';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../../app/db/open.js';
import { vapidKeys } from '../../app/db/queries/push.js';
import { createSealer, loadMasterKey } from '../../app/db/secrets.js';
import { base32Decode, base32Encode } from '../../app/mfa/otp.js';
import { Attr, Code, getAttr } from '../../app/radius/codec.js';
import { runCli, startAppliance, tempDir, type Appliance, type CliResult } from '../helpers/appliance.js';
import { startFreeRadius, type FreeRadius } from '../helpers/freeradius.js';
import { connectPipe } from '../helpers/pipe-client.js';
import { startPushServer, type PushServer } from '../helpers/push-server.js';
import { runRadclient } from '../helpers/radclient.js';
import { createTestClient, str } from '../helpers/radius-client.js';
import { totpCode } from '../helpers/totp.js';

/** A distinctive value: a readable label and 12 random characters nothing else can contain. */
const distinct = (label: string) => `${label}-${randomBytes(9).toString('base64url')}`;

const S = {
  clientSecret: distinct('ClientSecretFlag'),
  client2Secret: distinct('ClientSecretCli'),
  apiClientSecret: distinct('ClientSecretApi'),
  uiClientSecret: distinct('ClientSecretUi'),
  downSecret: distinct('DownstreamSecret'),
  wrongClientSecret: distinct('WrongClientSecret'),
  piaPassword: distinct('PiaPassword'),
  wrongPassword: distinct('WrongPassword'),
  tobiPassword: distinct('TobiPassword'),
  tamiPassword: distinct('TamiPassword'),
  adminPassword: distinct('AdminPassphrase'),
  wrongAdminPassword: distinct('WrongAdminPassphrase'),
  wrongApiToken: `gh_${randomBytes(32).toString('base64url')}`,
  wrongAgentToken: `gha_${randomBytes(32).toString('base64url')}`,
};

interface Found {
  /** Secrets as text: searched in every form. */
  texts: Map<string, string>;
  /** Secrets as bytes (TOTP seeds): raw, hex, base64, base32. */
  seeds: Map<string, Buffer>;
  /** 6-digit codes that were typed somewhere. */
  codes: Map<string, string>;
  /** Values the store keeps in clear by design and that are not credentials (the CSRF token). */
  notInLogs: Map<string, string>;
}

interface Ctx {
  fr: FreeRadius;
  push: PushServer;
  gh: Appliance;
  dataDir: string;
  pipeDir: string;
  found: Found;
  /** Output of commands that are not meant to print a secret. */
  quietOutput: string[];
}

/** A 6-digit code no authenticator would accept now (random, so it is as distinctive as a real one). */
function wrongCode(seed: Buffer): string {
  const valid = new Set([-1, 0, 1].map((o) => totpCode(seed, o)));
  for (;;) {
    const c = String(randomInt(0, 1_000_000)).padStart(6, '0');
    if (!valid.has(c)) return c;
  }
}

function seedOf(stdout: string): Buffer {
  const uri = stdout.split('\n').find((l) => l.startsWith('otpauth://totp/'));
  assert.ok(uri, stdout);
  return base32Decode(new URL(uri).searchParams.get('secret')!);
}

/** The encodings of a value a careless log line might carry. */
function textForms(value: string): string[] {
  const b = Buffer.from(value, 'utf8');
  return [value, b.toString('hex'), b.toString('hex').toUpperCase(), b.toString('base64'), b.toString('base64url'), base32Encode(b)];
}
function seedForms(seed: Buffer): string[] {
  return [seed.toString('hex'), seed.toString('hex').toUpperCase(), seed.toString('base64'), seed.toString('base64url'), base32Encode(seed), base32Encode(seed).toLowerCase()];
}
const codePattern = (code: string) => new RegExp(`(?<![0-9A-Za-z])${code}(?![0-9A-Za-z])`);

/** Every leak of any secret in `text`, as "what (form)". */
function leaks(text: string, found: Found, opts: { includeNotInLogs: boolean }): string[] {
  const out: string[] = [];
  for (const [name, v] of found.texts) for (const f of textForms(v)) if (text.includes(f)) out.push(`${name} (${f === v ? 'as is' : 'encoded'})`);
  for (const [name, seed] of found.seeds) for (const f of seedForms(seed)) if (text.includes(f)) out.push(`${name} (encoded as ${f})`);
  for (const [name, c] of found.codes) if (codePattern(c).test(text)) out.push(`${name} (${c})`);
  if (opts.includeNotInLogs) for (const [name, v] of found.notInLogs) if (text.includes(v)) out.push(name);
  return out;
}

/** Leaks in the raw bytes of the SQLite store: plaintext values, raw seeds, seeds in base32, codes. */
function storeLeaks(bytes: Buffer, found: Found): string[] {
  const out: string[] = [];
  for (const [name, v] of found.texts) if (bytes.includes(Buffer.from(v, 'utf8'))) out.push(`${name} in clear`);
  for (const [name, seed] of found.seeds) {
    if (bytes.includes(seed)) out.push(`${name} raw`);
    if (bytes.includes(Buffer.from(base32Encode(seed), 'latin1'))) out.push(`${name} base32`);
    if (bytes.includes(Buffer.from(seed.toString('hex'), 'latin1'))) out.push(`${name} hex`);
  }
  const text = bytes.toString('latin1');
  for (const [name, c] of found.codes) if (codePattern(c).test(text)) out.push(`${name} (${c})`);
  return out;
}

const STORE = /^gatehouse\.sqlite(-wal|-shm|-journal)?$/;

async function scanDataDir(dir: string, found: Found): Promise<{ storeFiles: string[]; problems: string[] }> {
  const problems: string[] = [];
  const storeFiles: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) {
        await walk(p);
        continue;
      }
      if (!e.isFile()) continue;
      const bytes = await readFile(p);
      if (d === dir && STORE.test(e.name)) {
        storeFiles.push(e.name);
        for (const l of storeLeaks(bytes, found)) problems.push(`${e.name}: ${l}`);
      } else {
        for (const l of leaks(bytes.toString('latin1'), found, { includeNotInLogs: true })) problems.push(`${e.name}: ${l}`);
        for (const [name, seed] of found.seeds) if (bytes.includes(seed)) problems.push(`${e.name}: ${name} raw`);
      }
    }
  };
  await walk(dir);
  return { storeFiles, problems };
}

function cookieFrom(res: Response, name: string): string | undefined {
  for (const c of res.headers.getSetCookie()) {
    const m = new RegExp(`^${name}=([^;]*)`).exec(c);
    if (m !== null && m[1] !== '') return m[1];
  }
  return undefined;
}
const csrfFrom = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1];
const unescapeHtml = (s: string) => s.replace(/&amp;/g, '&').replace(/&#x3D;/g, '=').replace(/&quot;/g, '"').replace(/&#39;/g, "'");

const T = suite<Ctx>('secrets are never logged');

T.before(async (ctx) => {
  ctx.found = { texts: new Map(Object.entries(S)), seeds: new Map(), codes: new Map(), notInLogs: new Map() };
  ctx.quietOutput = [];
  ctx.fr = await startFreeRadius({
    users: [
      { name: 'pia', password: S.piaPassword },
      { name: 'tobi', password: S.tobiPassword },
      { name: 'tami', password: S.tamiPassword },
    ],
    clients: [{ address: '127.0.0.1', secret: S.downSecret }],
  });
  ctx.push = await startPushServer({ kind: 'approve', afterMs: 50 });
  ctx.dataDir = await tempDir('gatehouse-secrets-');
  ctx.pipeDir = await tempDir('gatehouse-secrets-pipe-');
  const cli = async (args: string[], stdin?: string): Promise<CliResult> => {
    const r = await runCli([...args, '--data-dir', ctx.dataDir], stdin === undefined ? {} : { stdin });
    assert.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    return r;
  };
  // Stored before the start: the downstream secret and a client secret (sealed), an admin.
  for (const r of [
    await cli(['downstream', 'set', '127.0.0.1', S.downSecret, '--port', String(ctx.fr.port)]),
    await cli(['client', 'add', '127.0.0.2', S.client2Secret, '--name', 'second-nas']),
    await cli(['admin', 'add', 'root'], `${S.adminPassword}\n`),
  ]) {
    ctx.quietOutput.push(r.stdout, r.stderr);
  }
  ctx.gh = await startAppliance({
    dataDir: ctx.dataDir,
    env: { LOG_LEVEL: 'debug' },
    args: ['--address-secret-in', `127.0.0.1:${S.clientSecret}`, '--notakey-host', ctx.push.url, '--notakey-access-id', 'secrets-app', '--message-ttl-seconds', '10', '--pipe-path', join(ctx.pipeDir, 'logon.sock')],
  });
});

T.after(async (ctx) => {
  await ctx.gh?.stop();
  await ctx.push?.close();
  await ctx.fr?.stop();
  if (ctx.dataDir) await rm(ctx.dataDir, { recursive: true, force: true });
  if (ctx.pipeDir) await rm(ctx.pipeDir, { recursive: true, force: true });
});

T('TOTP enrolment from the command line (seeds), tokens from the command line', async ({ gh, found, quietOutput }) => {
  for (const name of ['tobi', 'tami', 'wes', 'ava']) {
    const r = await gh.cli(['totp', 'enroll', name]);
    assert.is(r.code, 0, r.stderr);
    found.seeds.set(`seed of ${name}`, seedOf(r.stdout));
    quietOutput.push(r.stderr);
  }
  const api = await gh.cli(['token', 'create', 'ci']);
  assert.is(api.code, 0, api.stderr);
  found.texts.set('apiToken', api.stdout.trim());
  const agent = await gh.cli(['agent-token', 'create', 'branch-pcs']);
  assert.is(agent.code, 0, agent.stderr);
  found.texts.set('agentToken', agent.stdout.trim());
  quietOutput.push(api.stderr, agent.stderr);
});

T('RADIUS: PAP right and wrong, CHAP, push approvals, a second client, a wrong shared secret', async ({ gh }) => {
  const radclient = (attrs: string, secret = S.clientSecret) => runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret, attrs, timeoutSec: 3, retries: 1 });
  const pap = await radclient(`User-Name = "pia"\nUser-Password = "${S.piaPassword}"\nMessage-Authenticator = 0x00`);
  assert.is(pap.replyCode, 'Access-Accept', pap.stdout + pap.stderr);
  const wrong = await radclient(`User-Name = "pia"\nUser-Password = "${S.wrongPassword}"\nMessage-Authenticator = 0x00`);
  assert.is(wrong.replyCode, 'Access-Reject');
  const chap = await radclient(`User-Name = "pia"\nCHAP-Password = "${S.piaPassword}"\nMessage-Authenticator = 0x00`);
  assert.is(chap.replyCode, 'Access-Accept', chap.stdout + chap.stderr);
  const bad = await runRadclient({ server: `127.0.0.1:${gh.radiusPort}`, secret: S.wrongClientSecret, attrs: `User-Name = "pia"\nUser-Password = "${S.piaPassword}"\nMessage-Authenticator = 0x00`, timeoutSec: 1, retries: 1 });
  assert.is(bad.replyCode, undefined, 'a wrong shared secret gets no answer');
  const second = await createTestClient({ port: gh.radiusPort, secret: S.client2Secret, bindAddress: '127.0.0.2' });
  try {
    const r = await second.request(second.build([str(Attr.UserName, 'pia')], { password: S.piaPassword }));
    assert.is(r?.packet.code, Code.AccessAccept);
  } finally {
    await second.close();
  }
});

T('RADIUS: a code appended to the password, and a challenge answered with a wrong then a right code', async ({ gh, found }) => {
  const c = await createTestClient({ port: gh.radiusPort, secret: S.clientSecret });
  try {
    const tami = found.seeds.get('seed of tami')!;
    const appended = totpCode(tami);
    found.codes.set('appended code', appended);
    found.texts.set('password,code', `${S.tamiPassword},${appended}`);
    assert.is((await c.request(c.build([str(Attr.UserName, 'tami')], { password: `${S.tamiPassword},${appended}` })))?.packet.code, Code.AccessAccept);

    const tobi = found.seeds.get('seed of tobi')!;
    const challenge = async () => {
      const r = await c.request(c.build([str(Attr.UserName, 'tobi')], { password: S.tobiPassword }));
      assert.is(r?.packet.code, Code.AccessChallenge);
      return Buffer.from(getAttr(r!.packet.attributes, Attr.State)!);
    };
    const wrong = wrongCode(tobi);
    found.codes.set('wrong code', wrong);
    const st1 = await challenge();
    assert.is((await c.request(c.build([str(Attr.UserName, 'tobi'), { type: Attr.State, value: st1 }], { password: wrong })))?.packet.code, Code.AccessReject);
    const right = totpCode(tobi);
    found.codes.set('challenge code', right);
    const st2 = await challenge();
    assert.is((await c.request(c.build([str(Attr.UserName, 'tobi'), { type: Attr.State, value: st2 }], { password: right })))?.packet.code, Code.AccessAccept);
  } finally {
    await c.close();
  }
});

T('admin sign-in over HTTP: wrong password, password, TOTP enrolment, session, CSRF, a client added in the UI', async ({ gh, found }) => {
  const base = `http://127.0.0.1:${gh.httpPort}`;
  const login = await fetch(`${base}/login`);
  const pre = cookieFrom(login, 'gh_pre');
  const preCsrf = csrfFrom(await login.text());
  assert.ok(pre && preCsrf);
  found.notInLogs.set('pre-sign-in CSRF token', preCsrf);
  const post = (path: string, cookie: string, form: Record<string, string>) =>
    fetch(`${base}${path}`, { method: 'POST', redirect: 'manual', headers: { Cookie: cookie, 'Content-Type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(form) });

  const wrong = await post('/login', `gh_pre=${pre}`, { _csrf: preCsrf, name: 'root', password: S.wrongAdminPassword });
  assert.is(wrong.status, 401);
  const ok = await post('/login', `gh_pre=${pre}`, { _csrf: preCsrf, name: 'root', password: S.adminPassword });
  assert.is(ok.status, 303);
  assert.is(ok.headers.get('location'), '/login/enrol');
  const half = cookieFrom(ok, 'gh_session');
  assert.ok(half);
  found.texts.set('half-signed-in session cookie', half);

  const enrolPage = await fetch(`${base}/login/enrol`, { headers: { Cookie: `gh_session=${half}` } });
  const html = await enrolPage.text();
  const uri = /otpauth:\/\/totp\/[^<\s"]+/.exec(html)?.[0];
  assert.ok(uri, html);
  const adminSeed = base32Decode(new URL(unescapeHtml(uri)).searchParams.get('secret')!);
  found.seeds.set('admin TOTP seed', adminSeed);
  const halfCsrf = csrfFrom(html);
  assert.ok(halfCsrf);
  found.notInLogs.set('half-signed-in CSRF token', halfCsrf);
  const adminCode = totpCode(adminSeed);
  found.codes.set('admin code', adminCode);
  const enrolled = await post('/login/enrol', `gh_session=${half}`, { _csrf: halfCsrf, code: adminCode });
  assert.is(enrolled.status, 303);
  const full = cookieFrom(enrolled, 'gh_session');
  assert.ok(full);
  found.texts.set('session cookie', full);

  const clients = await fetch(`${base}/clients`, { headers: { Cookie: `gh_session=${full}` } });
  assert.is(clients.status, 200);
  const csrf = csrfFrom(await clients.text());
  assert.ok(csrf);
  found.notInLogs.set('session CSRF token', csrf);
  const added = await post('/clients', `gh_session=${full}`, { _csrf: csrf, name: 'ui-nas', address: '127.0.0.4', secret: S.uiClientSecret, requireMessageAuthenticator: 'auto' });
  // Post/redirect/get: the client's page shows the secret once, after the redirect.
  assert.is(added.status, 303, await added.text());
  const out = await post('/logout', `gh_session=${full}`, { _csrf: csrf });
  assert.is(out.status, 303);
});

T('JSON API with a bearer token (right and wrong): a client with a secret, a TOTP enrolment', async ({ gh, found }) => {
  const base = `http://127.0.0.1:${gh.httpPort}/api/v1`;
  const auth = { Authorization: `Bearer ${found.texts.get('apiToken')!}`, 'Content-Type': 'application/json' };
  assert.is((await fetch(`${base}/status`, { headers: auth })).status, 200);
  assert.is((await fetch(`${base}/status`, { headers: { Authorization: `Bearer ${S.wrongApiToken}` } })).status, 401);
  const client = await fetch(`${base}/clients`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'api-nas', address: '127.0.0.3', secret: S.apiClientSecret }) });
  assert.is(client.status, 201, await client.text());
  const enrol = await fetch(`${base}/users/ulla/totp`, { method: 'POST', headers: auth });
  assert.is(enrol.status, 201);
  const { uri } = (await enrol.json()) as { uri: string };
  found.seeds.set('seed of ulla (API)', base32Decode(new URL(uri).searchParams.get('secret')!));
});

T("the push API served: an application's client secret and access token (right and wrong); Gatehouse's VAPID private key", async ({ gh, found, dataDir }) => {
  const api = `http://127.0.0.1:${gh.httpPort}/api/v1`;
  const auth = { Authorization: `Bearer ${found.texts.get('apiToken')!}`, 'Content-Type': 'application/json' };
  const made = await fetch(`${api}/applications`, { method: 'POST', headers: auth, body: JSON.stringify({ name: 'relay' }) });
  assert.is(made.status, 201);
  const app = (await made.json()) as { accessId: string; clientId: string; clientSecret: string };
  found.texts.set('push API client secret', app.clientSecret);
  const form = (secret: string) => new URLSearchParams({ grant_type: 'client_credentials', client_id: app.clientId, client_secret: secret }).toString();
  const tokenUrl = `http://127.0.0.1:${gh.httpPort}/api/token`;
  assert.is((await fetch(tokenUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form(`${app.clientSecret}x`) })).status, 401);
  const t = await fetch(tokenUrl, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: form(app.clientSecret) });
  assert.is(t.status, 200);
  const token = ((await t.json()) as { access_token: string }).access_token;
  found.texts.set('push API access token', token);
  const poll = (bearer: string) => fetch(`http://127.0.0.1:${gh.httpPort}/api/v2/application/${app.accessId}/auth_request/00000000-0000-0000-0000-000000000000`, { headers: { Authorization: `Bearer ${bearer}` } });
  assert.is((await poll(token)).status, 404, 'known token, unknown request');
  assert.is((await poll(`${token.slice(0, -2)}xy`)).status, 401);
  // The VAPID private key, as the store keeps it sealed, opened with the master key.
  const store = openStore(dataDir);
  try {
    const keys = await vapidKeys(store, createSealer(loadMasterKey(dataDir, undefined)), () => {
      throw new Error('the appliance made its VAPID keys at start');
    });
    found.texts.set('VAPID private key', keys.privateKey);
  } finally {
    store.close();
  }
});

T('Windows logon: the pipe and the agent API with codes, a push approval, a wrong agent token', async ({ gh, found, pipeDir }) => {
  const pipe = await connectPipe(join(pipeDir, 'logon.sock'));
  try {
    const wes = { op: 'authenticate', username: 'wes', domain: 'CORP', workstation: 'PC-1', scenario: 'logon' };
    assert.is((await pipe.request(wes))['result'], 'code_required');
    const code = totpCode(found.seeds.get('seed of wes')!);
    found.codes.set('pipe code', code);
    assert.is((await pipe.request({ ...wes, code }))['result'], 'approved');
    const push = await pipe.request({ op: 'authenticate', username: 'pia', domain: 'CORP', workstation: 'PC-1', scenario: 'rdp' }, 15_000);
    assert.is(push['result'], 'approved');
  } finally {
    pipe.end();
  }
  const agentUrl = `http://127.0.0.1:${gh.httpPort}/api/v1/agent/authenticate`;
  const ava = { id: 1, op: 'authenticate', username: 'ava', domain: 'CORP', workstation: 'PC-2', scenario: 'unlock' };
  const send = (token: string, body: Record<string, unknown>) => fetch(agentUrl, { method: 'POST', headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
  const agentToken = found.texts.get('agentToken')!;
  assert.is(((await (await send(agentToken, ava)).json()) as Record<string, unknown>)['result'], 'code_required');
  const code = totpCode(found.seeds.get('seed of ava')!);
  found.codes.set('agent code', code);
  assert.is(((await (await send(agentToken, { ...ava, code })).json()) as Record<string, unknown>)['result'], 'approved');
  assert.is((await send(S.wrongAgentToken, { ...ava, code })).status, 401);
});

T('the flows left their audit records (the search below looks at real output)', async ({ gh, push }) => {
  const r = await gh.cli(['audit', 'export']);
  const expected: [string, string][] = [
    ['radius.auth', 'push_approved'],
    ['radius.auth', 'downstream_reject'],
    ['radius.auth', 'totp_ok'],
    ['radius.auth', 'totp_wrong'],
    ['radius.drop', 'bad_message_authenticator'],
    ['admin.signin', 'bad_password'],
    ['admin.signin', 'totp_enrolled'],
    ['windows.auth', 'totp_ok'],
  ];
  for (const [event, reason] of expected) {
    assert.match(r.stdout, new RegExp(`"event":"${event.replace('.', '\\.')}".*"reason":"${reason}"`), `${event} ${reason}`);
  }
  assert.ok(push.creates.length >= 4, 'push requests were sent');
  // The process did log (at debug level every line it has is written; there are few at debug today).
  assert.match(gh.output(), /"level":"(debug|info)"/);
});

T('the search finds what it looks for (planted leaks), and not a code inside a hash or a longer number', ({ found }) => {
  const seed = found.seeds.get('seed of tobi')!;
  const code = found.codes.get('challenge code')!;
  const planted = [
    `{"msg":"x","password":"${S.piaPassword}"}`,
    `secret=${Buffer.from(S.downSecret).toString('base64')}`,
    `otpauth://totp/x?secret=${base32Encode(seed)}`,
    `seed ${seed.toString('hex')}`,
    `{"code":"${code}"}`,
    `code=${code}&x=1`,
  ];
  for (const p of planted) assert.ok(leaks(p, found, { includeNotInLogs: true }).length > 0, p);
  assert.ok(storeLeaks(Buffer.concat([randomBytes(64), seed, randomBytes(64)]), found).length > 0, 'raw seed in the store');
  assert.ok(storeLeaks(Buffer.from(`\u0000${S.client2Secret}\u0000`), found).length > 0, 'shared secret in the store');
  assert.equal(storeLeaks(Buffer.from(`a1b2${code}ff 17${code}42`, 'latin1'), found), [], 'a code inside a hex string or a longer number is no finding');
});

T('no secret in the process output, the audit export, the commands` output, or the data directory outside the store', async ({ gh, dataDir, found, quietOutput }) => {
  assert.ok(found.seeds.size >= 6 && found.codes.size >= 6 && found.texts.size >= 21, 'every flow registered its secrets');
  const problems: string[] = [];
  for (const l of leaks(gh.output(), found, { includeNotInLogs: true })) problems.push(`process output: ${l}`);
  for (const format of ['jsonl', 'csv']) {
    const r = await gh.cli(['audit', 'export', '--format', format]);
    assert.is(r.code, 0, r.stderr);
    assert.ok(r.stdout.length > 1000, `${format} export has content`);
    for (const l of leaks(r.stdout + r.stderr, found, { includeNotInLogs: true })) problems.push(`audit export ${format}: ${l}`);
  }
  const verify = await gh.cli(['audit', 'verify']);
  assert.is(verify.code, 0, verify.stderr);
  quietOutput.push(verify.stdout, verify.stderr);
  for (const l of leaks(quietOutput.join('\n'), found, { includeNotInLogs: true })) problems.push(`command output: ${l}`);
  // While running (the WAL holds the latest pages) ...
  const live = await scanDataDir(dataDir, found);
  assert.ok(live.storeFiles.includes('gatehouse.sqlite'), `store found: ${live.storeFiles.join(', ')}`);
  problems.push(...live.problems.map((p) => `data directory (running): ${p}`));
  // ... and after a clean stop (checkpointed), including the last log lines.
  await gh.stop();
  for (const l of leaks(gh.output(), found, { includeNotInLogs: true })) problems.push(`process output after stop: ${l}`);
  const stopped = await scanDataDir(dataDir, found);
  problems.push(...stopped.problems.map((p) => `data directory (stopped): ${p}`));
  assert.equal([...new Set(problems)], [], 'secrets found');
});

T.run();
