#!/usr/local/bin/node
// The container's HEALTHCHECK: GET /healthz on the admin HTTP port (HTTP_PORT, HTTP_ADDRESS as the
// appliance reads them); exit 0 when it answers 200 (RADIUS and HTTP listen), else 1.
const port = process.env.HTTP_PORT || '8080';
let host = process.env.HTTP_ADDRESS || '127.0.0.1';
if (host === '0.0.0.0') host = '127.0.0.1';
if (host === '::') host = '::1';
const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}/healthz`;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(4000) });
  process.stdout.write(`${url}: ${res.status}\n`);
  process.exit(res.status === 200 ? 0 : 1);
} catch (e) {
  process.stdout.write(`${url}: ${e.cause?.code ?? e.message}\n`);
  process.exit(1);
}
