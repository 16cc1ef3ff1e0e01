// The UI's own assets, served by Gatehouse (no internet needed): versioned names, cached for good.
import { Hono } from 'hono';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../lib/package-root.js';
import type { Assets } from '../views/layout.js';

interface Asset {
  path: string;
  body: Buffer;
  type: string;
}

/** Read the assets once at start and name each by its content hash. */
export function loadAssets(): { assets: Assets; files: Asset[] } {
  const root = packageRoot();
  const htmxFile = createRequire(import.meta.url).resolve('htmx.org/dist/htmx.min.js');
  const read = (file: string, base: string, ext: string, type: string): Asset => {
    const body = readFileSync(file);
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 12);
    return { path: `/static/${base}-${hash}.${ext}`, body, type };
  };
  const css = read(join(root, 'app', 'static', 'app.css'), 'app', 'css', 'text/css; charset=utf-8');
  const js = read(join(root, 'app', 'static', 'app.js'), 'app', 'js', 'text/javascript; charset=utf-8');
  const htmx = read(htmxFile, 'htmx', 'min.js', 'text/javascript; charset=utf-8');
  const approver = read(join(root, 'app', 'static', 'approver.js'), 'approver', 'js', 'text/javascript; charset=utf-8');
  return { assets: { css: css.path, js: js.path, htmx: htmx.path, approver: approver.path }, files: [css, js, htmx, approver] };
}

const FAVICON = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#141b26"/><path d="M8 3l5 5-5 5-5-5z" fill="#7ea2ff"/></svg>';

export function createStaticRoutes(files: readonly Asset[]) {
  const app = new Hono();
  app.get('/favicon.ico', (c) => c.body(FAVICON, 200, { 'content-type': 'image/svg+xml', 'cache-control': 'public, max-age=86400' }));
  for (const f of files) {
    app.get(f.path, (c) => c.body(new Uint8Array(f.body), 200, { 'content-type': f.type, 'cache-control': 'public, max-age=31536000, immutable' }));
  }
  return app;
}
