// app/middleware/security.ts and app/middleware/body-limit.ts on a small Hono app: the security
// headers reach every kind of response (made with the context, a redirect, an error page, a
// Response a handler built itself), HSTS only over TLS; the body limit answers 413 from the
// Content-Length, counts a body without one, and lets GETs and small bodies through with the body
// still readable by the handler.
import { Hono } from 'hono';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { bodyLimit } from '../../app/middleware/body-limit.js';
import { CSP, securityHeaders } from '../../app/middleware/security.js';
import type { WebEnv } from '../../app/web-env.js';

function app(secure: boolean) {
  const a = new Hono<WebEnv>();
  a.use('*', async (c, next) => {
    c.set('secure', secure);
    await next();
  });
  a.use('*', securityHeaders);
  a.use('/post/*', bodyLimit({ maxSize: 100, onError: (c) => c.json({ error: 'too large' }, 413) }));
  a.get('/json', (c) => c.json({ ok: true }, 201));
  a.get('/html', (c) => c.html('<p>hi</p>'));
  a.get('/redirect', (c) => c.redirect('/html'));
  a.get('/own', () => new Response('line\n', { status: 200, headers: { 'content-type': 'application/x-ndjson' } }));
  a.get('/weaker', (c) => {
    c.header('X-Frame-Options', 'SAMEORIGIN');
    return c.text('framed?');
  });
  a.get('/boom', () => {
    throw new Error('boom');
  });
  a.onError((_e, c) => c.text('went wrong', 500));
  a.post('/post/echo', async (c) => c.json({ got: await c.req.text() }));
  return a;
}

const H = suite('http/middleware');

H('every kind of response carries the security headers; the handler’s own status and type stay', async () => {
  const a = app(false);
  for (const [path, status, type] of [
    ['/json', 201, /^application\/json/],
    ['/html', 200, /^text\/html/],
    ['/redirect', 302, undefined],
    ['/own', 200, /^application\/x-ndjson/],
    ['/boom', 500, /^text\/plain/],
    ['/nowhere', 404, undefined],
  ] as const) {
    const res = await a.request(path);
    assert.is(res.status, status, path);
    if (type !== undefined) assert.match(res.headers.get('content-type') ?? '', type, path);
    assert.is(res.headers.get('content-security-policy'), CSP, path);
    assert.is(res.headers.get('x-content-type-options'), 'nosniff', path);
    assert.is(res.headers.get('x-frame-options'), 'DENY', path);
    assert.is(res.headers.get('referrer-policy'), 'no-referrer', path);
    assert.is(res.headers.get('strict-transport-security'), null, `${path}: no HSTS over plain HTTP`);
  }
  assert.is((await a.request('/redirect')).headers.get('location'), '/html');
  // A handler's own value for one of them does not win.
  assert.is((await a.request('/weaker')).headers.get('x-frame-options'), 'DENY');
  assert.is(await (await a.request('/own')).text(), 'line\n');
});

H('over TLS, HSTS too', async () => {
  for (const path of ['/json', '/own']) assert.is((await app(true).request(path)).headers.get('strict-transport-security'), 'max-age=31536000', path);
});

H('the body limit: 413 from the Content-Length, 413 counting a body without one, small bodies reach the handler intact', async () => {
  const a = app(false);
  const big = 'x'.repeat(101);
  const declared = await a.request('/post/echo', { method: 'POST', body: big, headers: { 'content-length': String(big.length) } });
  assert.is(declared.status, 413);
  assert.equal(await declared.json(), { error: 'too large' });
  // No Content-Length: counted as it is read.
  const counted = await a.request('/post/echo', { method: 'POST', body: big });
  assert.is(counted.status, 413);
  const small = await a.request('/post/echo', { method: 'POST', body: 'hello', headers: { 'content-length': '5' } });
  assert.is(small.status, 200);
  assert.equal(await small.json(), { got: 'hello' });
  const unsized = await a.request('/post/echo', { method: 'POST', body: 'hello' });
  assert.equal(await unsized.json(), { got: 'hello' });
});

H.run();
