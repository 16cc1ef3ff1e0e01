// HTTPS for the admin UI when a certificate is given: the UI over TLS with Secure cookies and
// HSTS, the HTTP port redirecting to it (but still answering /healthz).
import { execFileSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';
import { request } from 'node:https';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freeTcpPort, runCli, startAppliance, tempDir } from '../helpers/appliance.js';
import { findTool } from '../helpers/freeradius.js';
import { formCsrf } from '../helpers/web.js';

interface Ctx {
  dir: string;
}

interface HttpsAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A request to the appliance's self-signed HTTPS listener. */
function httpsRequest(url: string, o: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<HttpsAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

const httpsGet = (url: string) => httpsRequest(url);

const Https = suite<Ctx>('HTTPS admin UI');
Https.before.each(async (ctx) => {
  ctx.dir = await tempDir();
});
Https.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

Https('with --tls-cert and --tls-key the UI is HTTPS, cookies are Secure, and HTTP redirects', async ({ dir }) => {
  const openssl = findTool('openssl');
  if (openssl === undefined) throw new Error('openssl not found: install the Debian package openssl (apt-get install openssl)');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=gatehouse.test', '-keyout', key, '-out', cert], { stdio: 'ignore' });
  const httpsPort = await freeTcpPort();
  const gh = await startAppliance({ args: ['--tls-cert', cert, '--tls-key', key, '--https-port', String(httpsPort)] });
  try {
    const page = await httpsGet(`https://127.0.0.1:${httpsPort}/login`);
    assert.is(page.status, 200);
    assert.match(String(page.headers['strict-transport-security']), /max-age=/);
    assert.match(String(page.headers['set-cookie']), /; Secure/);
    // Signing in: the session cookie is __Host- prefixed and Secure.
    const add = await gh.cli(['admin', 'add', 'root'], 'a long admin passphrase\n');
    assert.is(add.code, 0, add.stderr);
    const pre = String(page.headers['set-cookie']).split(';')[0]!;
    const signIn = await httpsRequest(`https://127.0.0.1:${httpsPort}/login`, {
      method: 'POST',
      headers: { Cookie: pre, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: formCsrf(page.body)!, name: 'root', password: 'a long admin passphrase' }).toString(),
    });
    assert.is(signIn.status, 303, signIn.body);
    const session = (signIn.headers['set-cookie'] ?? []).filter((c) => /gh_session=[^;]/.test(c));
    assert.is(session.length, 1, String(signIn.headers['set-cookie']));
    assert.match(session[0]!, /^__Host-gh_session=[^;]+;/);
    assert.match(session[0]!, /; Secure/);
    assert.match(session[0]!, /; Path=\//);
    assert.not.match(session[0]!, /Domain=/i);
    const redirect = await fetch(`http://127.0.0.1:${gh.httpPort}/users?q=x`, { redirect: 'manual' });
    assert.is(redirect.status, 308);
    assert.is(redirect.headers.get('location'), `https://127.0.0.1:${httpsPort}/users?q=x`);
    assert.is((await fetch(`http://127.0.0.1:${gh.httpPort}/healthz`)).status, 200);
  } finally {
    await gh.stop();
  }
});

Https('only one of --tls-cert and --tls-key, or an unreadable file, is a one-line error', async ({ dir }) => {
  const one = await runCli(['--tls-cert', join(dir, 'nope.pem'), '--data-dir', dir, '--port-in', String(await freeTcpPort()), '--http-port', String(await freeTcpPort())]);
  assert.is(one.code, 2);
  assert.match(one.stderr, /^gatehouse: --tls-cert and --tls-key must be given together\n$/);
  const missing = await runCli(['--tls-cert', join(dir, 'nope.pem'), '--tls-key', join(dir, 'nope.key'), '--data-dir', dir, '--port-in', String(await freeTcpPort()), '--http-port', String(await freeTcpPort())]);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /^gatehouse: cannot read the TLS certificate or key: .*nope\.pem/);
});

Https.run();
