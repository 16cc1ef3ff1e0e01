// Where a web request came from, for the audit log: `http:ADDRESS` (the socket's peer).
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';

/** The socket's peer address (`local` for app.request() in tests, which has no socket). */
export function addressOf(c: Context): string {
  try {
    return getConnInfo(c).remote.address ?? 'unknown';
  } catch {
    return 'local';
  }
}

export function sourceOf(c: Context): string {
  return `http:${addressOf(c)}`;
}
