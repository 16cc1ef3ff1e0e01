// Security headers on every response: a strict CSP (no inline script or style), no framing,
// no MIME sniffing, no referrer.
import { createMiddleware } from 'hono/factory';
import type { WebEnv } from '../web-env.js';

export const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "object-src 'none'",
].join('; ');

const HEADERS: readonly (readonly [string, string])[] = [
  ['Content-Security-Policy', CSP],
  ['X-Content-Type-Options', 'nosniff'],
  ['Referrer-Policy', 'no-referrer'],
  ['X-Frame-Options', 'DENY'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Permissions-Policy', 'camera=(), microphone=(), geolocation=()'],
];
const OVER_TLS: readonly (readonly [string, string])[] = [...HEADERS, ['Strict-Transport-Security', 'max-age=31536000']];

export const securityHeaders = createMiddleware<WebEnv>(async (c, next) => {
  // Set before the handler runs, so every response made with the context (c.json, c.html, c.body,
  // c.redirect, the error pages) carries them from the start. Setting headers after the response
  // exists makes Hono rebuild it around its body stream, and the Node adapter then writes it by
  // reading that stream: a cost on every request (issue 13's 10,000 phones).
  const all = c.get('secure') ? OVER_TLS : HEADERS;
  for (const [name, value] of all) c.header(name, value);
  await next();
  // A handler that built its own Response (a stream), or set one of them otherwise: these values
  // win, as they did when they were set after the handler. Nothing to do in the usual case.
  const h = c.res.headers;
  for (const [name, value] of all) if (h.get(name) !== value) c.header(name, value);
});
