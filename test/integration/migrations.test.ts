// Migrations: an empty store migrates to the head, and a store left at every older migration
// (with rows in it) migrates to the head keeping its rows, with foreign keys clean.
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GENESIS_HASH, legacyHash } from '../../app/audit/chain.js';
import { openAuditLog } from '../../app/audit/log.js';
import { randomBytes } from 'node:crypto';
import { createAuditStore } from '../../app/db/queries/audit.js';
import { DB_FILE, openStore } from '../../app/db/open.js';
import { ROOT, tempDir } from '../helpers/appliance.js';
import { sqliteRunner } from '../../app/db/store.js';

interface Journal {
  entries: { idx: number; tag: string }[];
}
/** The master key the appliance would have for these stores. */
const KEY = randomBytes(32);
const journal = JSON.parse(readFileSync(join(ROOT, 'migrations', 'sqlite', 'meta', '_journal.json'), 'utf8')) as Journal;

/** A copy of migrations/ holding only the first `n` migrations. */
function migrationsUpTo(dir: string, n: number): string {
  const out = join(dir, 'migrations');
  mkdirSync(join(out, 'meta'), { recursive: true });
  const kept = journal.entries.slice(0, n);
  for (const e of kept) cpSync(join(ROOT, 'migrations', 'sqlite', `${e.tag}.sql`), join(out, `${e.tag}.sql`));
  writeFileSync(join(out, 'meta', '_journal.json'), JSON.stringify({ ...journal, entries: kept }));
  return out;
}

const M = suite<{ dir: string }>('migrations');
M.before.each(async (ctx) => {
  ctx.dir = await tempDir();
});
M.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

M('an empty store migrates to the head: every table exists', ({ dir }) => {
  const store = openStore(dir);
  const tables = (store.sqlite.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]).sort();
  store.close();
  for (const t of ['admin_sessions', 'admins', 'api_tokens', 'audit_log', 'downstream_servers', 'radius_clients', 'settings', 'totp_accounts', 'users']) assert.ok(tables.includes(t), `missing table ${t}`);
});

for (let n = 1; n < journal.entries.length; n++) {
  M(`a store at migration ${journal.entries[n - 1]!.tag} migrates to the head with its rows kept`, async ({ dir }) => {
    const file = join(dir, DB_FILE);
    const old = new Database(file);
    migrate(drizzle(old), { migrationsFolder: migrationsUpTo(dir, n) });
    // Rows that every version has: settings, and a few chained audit records.
    old.prepare("INSERT INTO settings (key, value) VALUES ('message-title', 'Old title')").run();
    old.close();
    const withAudit = await openStoreAt(file, n);
    withAudit.close();
    const store = openStore(dir);
    try {
      assert.is(store.sqlite.prepare('SELECT value FROM settings WHERE key = ?').pluck().get('message-title'), 'Old title');
      // Opening the log keys the old SHA-256 chain: one audit.keyed record links it to the keyed one.
      const log = await openAuditLog(store, KEY);
      assert.is(await log.store.count(), 4);
      assert.equal(await log.verify(), { ok: true, count: 4, legacy: 3 });
      assert.is((await log.store.last())!.event, 'audit.keyed');
      assert.equal(JSON.parse((await log.store.last())!.details!).count, 3);
      // Opening it again adds nothing; new records are keyed.
      const again = await openAuditLog(store, KEY);
      await again.auditor.record({ event: 'client.remove', outcome: 'ok' });
      assert.equal(await again.verify(), { ok: true, count: 5, legacy: 3 });
      assert.equal(store.sqlite.pragma('foreign_key_check'), []);
      const applied = store.sqlite.prepare('SELECT count(*) FROM __drizzle_migrations').pluck().get();
      assert.is(applied, journal.entries.length);
    } finally {
      store.close();
    }
  });
}

/** Append audit records as stores of every earlier version did (SHA-256 chained, no key). */
async function openStoreAt(file: string, _n: number) {
  const sqlite = new Database(file);
  const fake = { ...sqliteRunner({ sqlite }), dialect: 'sqlite' as const, sqlite, db: drizzle(sqlite), close: () => sqlite.close() };
  const audit = createAuditStore(fake, { genesis: GENESIS_HASH, link: legacyHash });
  await audit.append([1, 2, 3].map((i) => ({ time: i, event: 'client.add', outcome: 'ok' as const, username: null, reason: null, source: null, client: null, actor: 'cli:test', details: null })));
  return { close: () => sqlite.close() };
}

M.run();
