// Where a web request came from, for the audit log: `http:ADDRESS` (the socket's peer).
import type { Context } from 'hono';
import { getConnInfo } from '@hono/node-server/conninfo';

export function sourceOf(c: Context): string {
  try {
    return `http:${getConnInfo(c).remote.address ?? 'unknown'}`;
  } catch {
    // app.request() in tests has no socket.
    return 'http:local';
  }
}
