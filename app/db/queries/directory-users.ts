// Users kept by the directory sync (app/directory/sync.ts): one page of entries written in one
// transaction, the entries a complete run did not see marked removed, and those gone longer than
// the grace period deleted with their factors. Policy (what counts as gone, the grace period) is
// the sync's; this only stores. Written once for both engines (app/db/store.ts).
import { sql } from 'drizzle-orm';
import type { Runner, SharedStore } from '../store.js';
import { writeStoredSetting } from './settings.js';
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
  writePage(entries: readonly SyncedEntry[], runStart: number, now: number): Promise<PageChanges>;
  /** Directory users a complete run started at `runStart` did not see: now removed. */
  markMissing(runStart: number, now: number): Promise<string[]>;
  /** Directory users disabled or removed before `before`: deleted, factors and all. */
  purge(before: number): Promise<string[]>;
  /** A directory user's source and state (undefined: no such user). */
  stateOf(username: string): Promise<{ source: 'local' | 'directory'; state: 'active' | 'disabled' | 'removed' | null } | undefined>;
  /** What a bind said of the account (disabled, or gone), without waiting for the sync; `tx`: inside that transaction. */
  setState(username: string, state: 'disabled' | 'removed', now: number, tx?: Runner): Promise<boolean>;
  /** How many users the sync keeps. */
  count(): Promise<number>;
  /** The last run's report (JSON, beside the settings; not a setting), kept across restarts. */
  loadReport(): Promise<unknown>;
  saveReport(report: object): Promise<void>;
}

const REPORT_KEY = 'ldap-sync-report';

export function createDirectoryUserStore(store: SharedStore): DirectoryUserStore {
  return {
    // One page in one transaction: every entry's row and groups, or none of them.
    writePage: (entries, runStart, now) =>
      store.transaction(async (tx) => {
        const changes: PageChanges = { added: 0, updated: 0, disabled: [], restored: [] };
        for (const e of entries) {
          const state = e.disabled ? 'disabled' : 'active';
          const text = searchTextOf(e.username, e.displayName, e.email);
          const made = await tx.get<{ id: number }>(sql`INSERT INTO users (username, display_name, email, upn, directory_dn, directory_state, directory_gone_at, synced_at, search_text, source, created_at)
            VALUES (${e.username}, ${e.displayName}, ${e.email}, ${e.upn}, ${e.dn}, ${state}, ${e.disabled ? now : null}, ${runStart}, ${text}, 'directory', ${now})
            ON CONFLICT (username) DO NOTHING RETURNING id`);
          let id: number;
          if (made !== undefined) {
            id = made.id;
            changes.added++;
          } else {
            const before = (await tx.get<{ id: number; state: string | null }>(sql`SELECT id, directory_state AS state FROM users WHERE username = ${e.username}`))!;
            id = before.id;
            // The gone-at time: set when the entry turns disabled, kept while it stays gone, cleared when active.
            await tx.run(sql`UPDATE users SET display_name = ${e.displayName}, email = ${e.email}, upn = ${e.upn}, directory_dn = ${e.dn}, source = 'directory',
              directory_gone_at = CASE WHEN ${state} = 'active' THEN NULL WHEN directory_state IN ('disabled', 'removed') THEN coalesce(directory_gone_at, CAST(${now} AS bigint)) ELSE CAST(${now} AS bigint) END,
              directory_state = ${state}, synced_at = ${runStart}, search_text = ${text} WHERE id = ${id}`);
            changes.updated++;
            const wasGone = before.state === 'disabled' || before.state === 'removed';
            if (e.disabled && !wasGone) changes.disabled.push(e.username);
            if (!e.disabled && wasGone) changes.restored.push(e.username);
          }
          await tx.run(sql`DELETE FROM user_groups WHERE user_id = ${id}`);
          for (const g of e.groups) await tx.run(sql`INSERT INTO user_groups (user_id, name) VALUES (${id}, ${g}) ON CONFLICT DO NOTHING`);
        }
        return changes;
      }),
    markMissing: async (runStart, now) =>
      (
        await store.all<{ username: string }>(sql`UPDATE users SET directory_state = 'removed', directory_gone_at = coalesce(directory_gone_at, CAST(${now} AS bigint))
          WHERE source = 'directory' AND directory_state <> 'removed' AND (synced_at IS NULL OR synced_at < ${runStart}) RETURNING username`)
      ).map((r) => r.username),
    purge: async (before) =>
      (await store.all<{ username: string }>(sql`DELETE FROM users WHERE source = 'directory' AND directory_state IN ('disabled', 'removed') AND directory_gone_at <= ${before} RETURNING username`)).map((r) => r.username),
    stateOf: (username) => store.get(sql`SELECT source, directory_state AS state FROM users WHERE username = ${username}`),
    setState: async (username, state, now, tx = store) =>
      (await tx.run(sql`UPDATE users SET directory_state = ${state}, directory_gone_at = coalesce(directory_gone_at, CAST(${now} AS bigint)) WHERE username = ${username} AND source = 'directory'`)) > 0,
    count: async () => Number((await store.get<{ n: number }>(sql`SELECT count(*) AS n FROM users WHERE source = 'directory'`))?.n ?? 0),
    // The last run's report, kept beside the settings (not one of them).
    async loadReport() {
      const raw = (await store.get<{ value: string }>(sql`SELECT value FROM settings WHERE key = ${REPORT_KEY}`))?.value;
      try {
        return raw === undefined ? undefined : (JSON.parse(raw) as unknown);
      } catch {
        return undefined;
      }
    },
    saveReport: (report) => writeStoredSetting(store, REPORT_KEY, JSON.stringify(report)),
  };
}
