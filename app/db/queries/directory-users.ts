// Users kept by the directory sync (app/directory/sync.ts): one page of entries written in one
// transaction, the entries a complete run did not see marked removed, and those gone longer than
// the grace period deleted with their factors. Policy (what counts as gone, the grace period) is
// the sync's; this only stores.
import type { Store } from '../open.js';
import { searchTextOf } from './users.js';

export interface SyncedEntry {
  /** Canonical user name. */
  username: string;
  displayName: string | null;
  email: string | null;
  upn: string | null;
  dn: string;
  /** Group names, lower case. */
  groups: string[];
  disabled: boolean;
}

/** What one page changed: counts, and the users whose access changed (for the audit). */
export interface PageChanges {
  added: number;
  updated: number;
  /** Active before (or local), disabled now. */
  disabled: string[];
  /** Disabled or removed before, active now. */
  restored: string[];
}

export interface DirectoryUserStore {
  writePage(entries: readonly SyncedEntry[], runStart: number, now: number): PageChanges;
  /** Directory users a complete run started at `runStart` did not see: now removed. */
  markMissing(runStart: number, now: number): string[];
  /** Directory users disabled or removed before `before`: deleted, factors and all. */
  purge(before: number): string[];
  /** A directory user's source and state (undefined: no such user). */
  stateOf(username: string): { source: 'local' | 'directory'; state: 'active' | 'disabled' | 'removed' | null } | undefined;
  /** What a bind said of the account (disabled, or gone), without waiting for the sync. */
  setState(username: string, state: 'disabled' | 'removed', now: number): boolean;
  /** How many users the sync keeps. */
  count(): number;
  /** The last run's report (JSON, beside the settings; not a setting), kept across restarts. */
  loadReport(): unknown;
  saveReport(report: object): void;
}

const REPORT_KEY = 'ldap-sync-report';

export function createDirectoryUserStore(store: Store): DirectoryUserStore {
  const db = store.sqlite;
  const find = db.prepare<[string], { id: number; source: string; directory_state: string | null }>('SELECT id, source, directory_state FROM users WHERE username = ?');
  const insert = db.prepare<[string, string | null, string | null, string | null, string, string, number | null, number, string], { id: number }>(
    "INSERT INTO users (username, display_name, email, upn, directory_dn, directory_state, directory_gone_at, synced_at, search_text, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'directory') RETURNING id",
  );
  // The gone-at time: set when the entry turns disabled, kept while it stays gone, cleared when active.
  const update = db.prepare<{ displayName: string | null; email: string | null; upn: string | null; dn: string; state: string; now: number; runStart: number; text: string; id: number }>(
    `UPDATE users SET display_name = @displayName, email = @email, upn = @upn, directory_dn = @dn, source = 'directory',
       directory_gone_at = CASE WHEN @state = 'active' THEN NULL WHEN directory_state IN ('disabled', 'removed') THEN coalesce(directory_gone_at, @now) ELSE @now END,
       directory_state = @state, synced_at = @runStart, search_text = @text WHERE id = @id`,
  );
  const clearGroups = db.prepare<[number]>('DELETE FROM user_groups WHERE user_id = ?');
  const addGroup = db.prepare<[number, string]>('INSERT OR IGNORE INTO user_groups (user_id, name) VALUES (?, ?)');
  const missing = db.prepare<{ now: number; runStart: number }, { username: string }>(
    "UPDATE users SET directory_state = 'removed', directory_gone_at = coalesce(directory_gone_at, @now) WHERE source = 'directory' AND directory_state <> 'removed' AND (synced_at IS NULL OR synced_at < @runStart) RETURNING username",
  );
  const purge = db.prepare<[number], { username: string }>("DELETE FROM users WHERE source = 'directory' AND directory_state IN ('disabled', 'removed') AND directory_gone_at <= ? RETURNING username");
  const count = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM users WHERE source = 'directory'");
  const stateOf = db.prepare<[string], { source: 'local' | 'directory'; directory_state: 'active' | 'disabled' | 'removed' | null }>('SELECT source, directory_state FROM users WHERE username = ?');
  const setState = db.prepare<{ state: string; now: number; username: string }>(
    "UPDATE users SET directory_state = @state, directory_gone_at = coalesce(directory_gone_at, @now) WHERE username = @username AND source = 'directory'",
  );

  const writePage = db.transaction((entries: readonly SyncedEntry[], runStart: number, now: number): PageChanges => {
    const changes: PageChanges = { added: 0, updated: 0, disabled: [], restored: [] };
    for (const e of entries) {
      const state = e.disabled ? 'disabled' : 'active';
      const text = searchTextOf(e.username, e.displayName, e.email);
      const before = find.get(e.username);
      let id: number;
      if (before === undefined) {
        id = insert.get(e.username, e.displayName, e.email, e.upn, e.dn, state, e.disabled ? now : null, runStart, text)!.id;
        changes.added++;
      } else {
        id = before.id;
        update.run({ displayName: e.displayName, email: e.email, upn: e.upn, dn: e.dn, state, now, runStart, text, id });
        changes.updated++;
        const wasGone = before.directory_state === 'disabled' || before.directory_state === 'removed';
        if (e.disabled && !wasGone) changes.disabled.push(e.username);
        if (!e.disabled && wasGone) changes.restored.push(e.username);
      }
      clearGroups.run(id);
      for (const g of e.groups) addGroup.run(id, g);
    }
    return changes;
  });

  // The last run's report, kept beside the settings (as queries/settings.ts writes them).
  const reportOf = store.sqlite.prepare<[string], { value: string }>('SELECT value FROM settings WHERE key = ?');
  const saveReport = store.sqlite.prepare<[string, string, number]>('INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at');

  return {
    writePage: (entries, runStart, now) => writePage.immediate(entries, runStart, now),
    markMissing: (runStart, now) => missing.all({ now, runStart }).map((r) => r.username),
    purge: (before) => purge.all(before).map((r) => r.username),
    stateOf(username) {
      const r = stateOf.get(username);
      return r === undefined ? undefined : { source: r.source, state: r.directory_state };
    },
    setState: (username, state, now) => setState.run({ state, now, username }).changes > 0,
    count: () => count.get()?.n ?? 0,
    loadReport() {
      const raw = reportOf.get(REPORT_KEY)?.value;
      try {
        return raw === undefined ? undefined : (JSON.parse(raw) as unknown);
      } catch {
        return undefined;
      }
    },
    saveReport: (report) => void saveReport.run(REPORT_KEY, JSON.stringify(report), Date.now()),
  };
}
