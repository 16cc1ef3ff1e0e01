// The request body limit (413 beyond it), without building a web Request for every request.
// Hono's bodyLimit reads `c.req.raw.body`, which makes the Node adapter turn the request into a
// full WHATWG Request with a stream body, on GETs too; the handler then reads the body through that
// stream. Here a request without a body, or one whose Content-Length says its size, is decided from
// its headers and its body is read later the adapter's direct way; only a chunked body (no length
// up front) goes through Hono's bodyLimit, which counts it as it arrives.
import type { Context, MiddlewareHandler, Next } from 'hono';
import { bodyLimit as streamedBodyLimit } from 'hono/body-limit';

export function bodyLimit(options: { maxSize: number; onError: (c: Context) => Response | Promise<Response> }): MiddlewareHandler {
  const streamed = streamedBodyLimit(options);
  return async (c: Context, next: Next) => {
    // The adapter gives GET and HEAD no body at all (nothing to read, nothing to limit).
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
    const length = c.req.header('content-length');
    // Node's parser refuses (400) a malformed or repeated Content-Length, and one beside a
    // Transfer-Encoding, so the body is no longer than this. Without one it is counted as it comes.
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      return Number.parseInt(length, 10) > options.maxSize ? options.onError(c) : next();
    }
    return streamed(c, next);
  };
}
