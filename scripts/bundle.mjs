// The bundle that `bin/gatehouse` runs: the app compiled by tsc (dist/app) together with the
// pure-ESM packages every start loads (drizzle-orm, hono, @hono/node-server), in a handful of files
// under dist/bundle/. Loading some 250 separate modules (93 of ours, 113 of drizzle-orm's, hono's)
// was about half of the time from start to the first RADIUS answer (issue 18's cold start, see
// BENCHMARKS.md); the loader's resolve, read, compile and link per module is what one file saves.
//
// Every other dependency stays an ordinary import from node_modules, as before: better-sqlite3
// (native), and the CommonJS or lazily loaded ones (pg, web-push, ldapts, undici, ...). A package
// added to package.json is external unless it is named in BUNDLED. The code is not minified (the
// names in a stack trace stay readable) and has no source map, whose reading would cost each start.
//
//   node scripts/bundle.mjs [ENTRY] [OUTDIR]   (defaults: dist/app/cli/main.js dist/bundle)
import { build } from 'esbuild';
import { readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUNDLED = new Set(['drizzle-orm', 'hono', '@hono/node-server']);
const [entry = join(root, 'dist', 'app', 'cli', 'main.js'), outdir = join(root, 'dist', 'bundle')] = process.argv.slice(2);

const { dependencies = {} } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const external = Object.keys(dependencies).filter((name) => !BUNDLED.has(name));
// CommonJS packages on the way to the first RADIUS answer are loaded with require(), not import:
// Node's ESM loader runs its CommonJS export lexer over each file of such a package (and sets the
// lexer up first), which made better-sqlite3 cost 18-27 ms of every start instead of 9-13 ms. The
// bundle imports the package's default export (module.exports) from a two-line module instead.
const REQUIRED = new Set(['better-sqlite3']);
const requireCjs = {
  name: 'require-commonjs',
  setup(b) {
    b.onResolve({ filter: /^[^./]/ }, (a) => (REQUIRED.has(a.path) && a.kind === 'import-statement' ? { path: a.path, namespace: 'require-commonjs' } : undefined));
    b.onLoad({ filter: /.*/, namespace: 'require-commonjs' }, (a) => ({
      contents: `import { createRequire } from 'node:module';\nexport default createRequire(import.meta.url)(${JSON.stringify(a.path)});\n`,
      loader: 'js',
    }));
  },
};
// Chunk names carry a content hash: a stale chunk must not survive a rebuild.
rmSync(outdir, { recursive: true, force: true });
await build({
  plugins: [requireCjs],
  entryPoints: { main: entry },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  logLevel: 'warning',
});
