// Whether a URL's host is this machine: the only place clear-text HTTP is accepted for a secret-
// bearing connection (the push API, the appliance an agent forwards to).
import { isIP } from 'node:net';

export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
  if (h.toLowerCase() === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./i.test(h);
  return false;
}

/** An http(s) URL that is https, or http to loopback; otherwise why not. */
export function secureUrlProblem(u: URL): string | undefined {
  if (u.protocol === 'https:') return undefined;
  if (u.protocol !== 'http:') return 'must be an https:// URL';
  return isLoopbackHost(u.hostname) ? undefined : 'must be an https:// URL (plain http:// only to this machine, 127.0.0.1 or ::1)';
}
