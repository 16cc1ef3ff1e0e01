// Request bodies over a real socket to bin/gatehouse: every UI and API route refuses a body over
// 64 KiB with 413 before anything parses it (a 300 MB POST /login without a cookie used to grow
// the process to 1.5 GB, the CSRF check reading the whole body before sign-in). The process's
// peak resident memory (VmHWM) stays under 150 MB.
import { readFileSync } from 'node:fs';
import { request } from 'node:http';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startAppliance, type Appliance } from '../helpers/appliance.js';

interface Ctx {
  gh: Appliance;
}

const H = suite<Ctx>('HTTP request body limits');

H.before(async (ctx) => {
  ctx.gh = await startAppliance();
});
H.after(async (ctx) => {
  await ctx.gh?.stop();
});

const MB = 1024 * 1024;

/** Peak resident set of the process, in bytes (Linux /proc). */
function peakRss(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error('no VmHWM in /proc/PID/status');
  return Number(m[1]) * 1024;
}

/**
 * POST `total` bytes of zeros to `path` in 1 MB writes (with Content-Length, or chunked), and
 * resolve with the status as soon as it comes; the server may close before all was sent.
 */
function bigPost(port: number, path: string, total: number, chunked: boolean, contentType = 'application/x-www-form-urlencoded'): Promise<{ status: number; body: string; sent: number }> {
  return new Promise((resolve, reject) => {
    let sent = 0;
    const req = request({ host: '127.0.0.1', port, path, method: 'POST', headers: { 'content-type': contentType, ...(chunked ? {} : { 'content-length': String(total) }) } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, sent });
        req.destroy();
      });
    });
    req.on('error', (e) => (sent > 0 ? undefined : reject(e)));
    const chunk = Buffer.alloc(MB, 0x61);
    const pump = () => {
      while (sent < total) {
        const part = chunk.subarray(0, Math.min(chunk.length, total - sent));
        sent += part.length;
        if (!req.write(part)) return void req.once('drain', pump);
      }
      req.end();
    };
    pump();
  });
}

H('a 300 MB POST /login without a cookie is refused with 413; memory stays under 150 MB', async ({ gh }) => {
  const pid = gh.child.pid!;
  const r = await bigPost(gh.httpPort, '/login', 300 * MB, false);
  assert.is(r.status, 413);
  assert.match(r.body, /larger than 64 KiB/);
  const peak = peakRss(pid);
  assert.ok(peak < 150 * MB, `peak RSS ${Math.round(peak / MB)} MB`);
});

H('without a Content-Length (chunked) the body is cut off at 64 KiB too; the API answers 413 in JSON', async ({ gh }) => {
  const pid = gh.child.pid!;
  const ui = await bigPost(gh.httpPort, '/login', 200 * MB, true);
  assert.is(ui.status, 413);
  const api = await bigPost(gh.httpPort, '/api/v1/clients', 50 * MB, true, 'application/json');
  assert.is(api.status, 413);
  assert.equal(JSON.parse(api.body), { error: 'request body too large (at most 64 KiB)' });
  const peak = peakRss(pid);
  assert.ok(peak < 150 * MB, `peak RSS ${Math.round(peak / MB)} MB`);
  // The appliance still answers.
  assert.is((await fetch(`http://127.0.0.1:${gh.httpPort}/healthz`)).status, 200);
});

H('a body just under the limit still reaches the route (the sign-in form is answered)', async ({ gh }) => {
  const r = await bigPost(gh.httpPort, '/login', 60 * 1024, false);
  assert.is(r.status, 403, 'the CSRF check answers, so the body was read');
  assert.match(r.body, /CSRF/);
});

H.run();
