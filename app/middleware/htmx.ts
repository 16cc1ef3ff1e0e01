// The only reader of htmx's request headers. Responses vary on HX-Request, since one URL serves
// a full page or a fragment.
import type { Context } from 'hono';

export function isHtmx(c: Context): boolean {
  c.header('Vary', 'HX-Request', { append: true });
  return c.req.header('HX-Request') === 'true' && c.req.header('HX-History-Restore-Request') !== 'true';
}

/** Send the browser elsewhere: a plain redirect, or HX-Redirect for htmx requests. */
export function redirect(c: Context, to: string): Response {
  if (c.req.header('HX-Request') === 'true') {
    c.header('HX-Redirect', to);
    return c.body(null, 200);
  }
  return c.redirect(to, 303);
}
