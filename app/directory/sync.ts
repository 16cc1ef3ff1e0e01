// The directory sync: the users of the directory (all of them, those matching --ldap-sync-filter,
// or the members of --ldap-sync-groups, nested membership included) become Gatehouse users with
// their display name, email, UPN and groups, on a schedule and on "Sync now". Decisions:
//
// - Pages of 500 entries (RFC 2696), each written in one transaction before the next is asked
//   for: memory stays bounded whatever the directory's size.
// - Nested groups are worked out here, from one read of every group and the groups it is in, so
//   a user of VPN-Users through Engineering is in both; a group is known by the value of the first
//   part of its DN (cn=VPN-Users,... is "vpn-users"), which is what policy rules name.
// - A user disabled in the directory, or no longer found by a complete run, loses access at once
//   (the engine refuses them: app/mfa/lockout.ts) and keeps their factors for --ldap-grace-days,
//   after which they are deleted; a user who comes back within it has everything as before.
// - Only a run that read the whole directory removes anyone: a run that failed part way, or that
//   found nobody at all while Gatehouse has directory users (a wrong base DN, a filter typo),
//   removes nobody and says why.
// - Local users with the same name as a directory entry become directory users (the same person).
import type { Auditor } from '../audit/audit.js';
import type { Settings } from '../config.js';
import type { DirectoryUserStore, SyncedEntry } from '../db/queries/directory-users.js';
import type { Logger } from '../lib/log.js';
import { canonicalUsername } from '../lib/username.js';
import type { DirectoryUser, GroupParents } from './ldap.js';
import type { DirectoryState } from './settings.js';

export const SYNC_PAGE_SIZE = 500;
/** Per kind (disabled, removed, restored, deleted) and run, one audit record per user up to this; then a count. */
const AUDIT_PER_KIND = 200;

export interface SyncSettings {
  /** Minutes between runs; 0: only "Sync now". */
  intervalMinutes: number;
  /** Group names (lower case) or DNs; empty: every user the filter finds. */
  groups: readonly string[];
  filter: string | undefined;
  graceDays: number;
}

export interface SyncReport {
  started: number;
  finished: number;
  ok: boolean;
  /** Who asked: `schedule`, or an admin. */
  by: string;
  /** Entries in scope. */
  seen: number;
  /** Entries whose names Gatehouse cannot use (spaces, control characters). */
  skipped: number;
  added: number;
  updated: number;
  disabled: number;
  removed: number;
  restored: number;
  deleted: number;
  error?: string;
}

export interface DirectorySyncDeps {
  directory(): DirectoryState;
  settings(): SyncSettings;
  users: DirectoryUserStore;
  audit: Auditor;
  log: Logger;
  now(): number;
}

export interface DirectorySync {
  /** Start a run now unless one is running; false when one is. */
  runNow(by: string): boolean;
  /** A run, awaited (the CLI and the tests). */
  run(by: string): Promise<SyncReport>;
  status(): Promise<{ running: boolean; last: SyncReport | undefined }>;
  /** Check every `everyMs` whether a scheduled run is due. */
  start(everyMs?: number): void;
  stop(): void;
}

/** The sync's part of the settings. */
export function syncSettingsOf(s: Readonly<Settings>): SyncSettings {
  return { intervalMinutes: s.ldapSyncInterval, groups: s.ldapSyncGroups?.split(';').map((g) => g.trim()) ?? [], filter: s.ldapSyncFilter, graceDays: s.ldapGraceDays };
}

/** The name a group is known by: the first RDN's value, unescaped, lower case. */
export function groupName(dn: string): string {
  const m = /^[^=]+=((?:\\.|[^,\\])*)/.exec(dn);
  const raw = m?.[1] ?? dn;
  return raw.replace(/\\([0-9a-fA-F]{2}|.)/g, (_, c: string) => (c.length === 2 ? String.fromCharCode(parseInt(c, 16)) : c)).trim().toLowerCase();
}

/** A user's groups with every group those are in, to any depth (cycles are harmless). */
export function expandGroups(direct: readonly string[], parents: GroupParents): string[] {
  const seen = new Set<string>();
  const todo = direct.map((d) => d.toLowerCase());
  while (todo.length > 0) {
    const g = todo.pop()!;
    if (seen.has(g)) continue;
    seen.add(g);
    for (const p of parents.get(g) ?? []) if (!seen.has(p)) todo.push(p);
  }
  return [...seen];
}

export function createDirectorySync(d: DirectorySyncDeps): DirectorySync {
  let running: Promise<SyncReport> | undefined;
  // The last run's report, read from the store when first asked for (it outlives restarts).
  let last: SyncReport | undefined;
  let loaded = false;
  const lastReport = async (): Promise<SyncReport | undefined> => {
    if (!loaded) {
      const stored = (await d.users.loadReport()) as SyncReport | undefined;
      last ??= stored;
      loaded = true;
    }
    return last;
  };
  let timer: NodeJS.Timeout | undefined;

  async function auditChanges(kind: 'disabled' | 'removed' | 'restored' | 'deleted', names: readonly string[]): Promise<void> {
    const event = `user.directory_${kind}`;
    for (const username of names.slice(0, AUDIT_PER_KIND)) await d.audit.record({ event, outcome: 'ok', actor: 'directory-sync', username });
    if (names.length > AUDIT_PER_KIND) await d.audit.record({ event, outcome: 'ok', actor: 'directory-sync', reason: 'more_not_listed', details: { count: names.length - AUDIT_PER_KIND } });
  }

  async function once(by: string): Promise<SyncReport> {
    const started = d.now();
    const r: SyncReport = { started, finished: started, ok: false, by, seen: 0, skipped: 0, added: 0, updated: 0, disabled: 0, removed: 0, restored: 0, deleted: 0 };
    const finish = async (error?: string): Promise<SyncReport> => {
      r.finished = d.now();
      r.ok = error === undefined;
      if (error !== undefined) r.error = error;
      const counts = `${r.seen} in scope, ${r.added} added, ${r.updated} updated, ${r.disabled} disabled, ${r.removed} removed, ${r.restored} restored, ${r.deleted} deleted, ${r.skipped} skipped`;
      await d.audit.record({ event: 'directory.sync', outcome: r.ok ? 'ok' : 'error', actor: by, ...(error !== undefined ? { reason: 'sync_failed' } : {}), details: { count: r.seen, message: error === undefined ? counts : `${error} (${counts})` } });
      d.log[r.ok ? 'info' : 'warn']('directory sync', { ok: r.ok, seen: r.seen, added: r.added, removed: r.removed, ms: r.finished - started, ...(error !== undefined ? { error } : {}) });
      last = r;
      loaded = true;
      await d.users.saveReport(r);
      return r;
    };
    const st = d.directory();
    if (!st.ok) return finish(st.problem);
    const s = d.settings();
    const groups = await st.directory.groupParents();
    if (!groups.ok) return finish(`reading the groups failed (${groups.reason}): ${groups.detail}`);
    const scope = new Set(s.groups.map((g) => g.toLowerCase()));
    const inScope = (expanded: readonly string[]) => scope.size === 0 || expanded.some((dn) => scope.has(dn) || scope.has(groupName(dn)));
    const pageChanges = { disabled: [] as string[], restored: [] as string[] };
    const toEntry = (u: DirectoryUser): SyncedEntry | undefined => {
      const name = canonicalUsername(u.username);
      if (!name.ok) {
        r.skipped++;
        return undefined;
      }
      // memberOf on the entry (AD, the OpenLDAP overlay), and the groups that list the person.
      const expanded = expandGroups([...u.groups, ...(groups.parents.get(u.dn.toLowerCase()) ?? [])], groups.parents);
      if (!inScope(expanded)) return undefined;
      return { username: name.name, displayName: u.displayName ?? null, email: u.email ?? null, upn: u.upn ?? null, dn: u.dn, groups: [...new Set(expanded.map(groupName))].sort(), disabled: u.disabled };
    };
    const listed = await st.directory.eachUserPage(s.filter, SYNC_PAGE_SIZE, async (page) => {
      const entries = page.flatMap((u) => toEntry(u) ?? []);
      r.seen += entries.length;
      const c = await d.users.writePage(entries, started, d.now());
      r.added += c.added;
      r.updated += c.updated;
      pageChanges.disabled.push(...c.disabled);
      pageChanges.restored.push(...c.restored);
    });
    r.disabled = pageChanges.disabled.length;
    r.restored = pageChanges.restored.length;
    await auditChanges('disabled', pageChanges.disabled);
    await auditChanges('restored', pageChanges.restored);
    if (!listed.ok) return finish(`reading the users failed (${listed.reason}): ${listed.detail}; nobody was removed`);
    if (r.seen === 0 && (await d.users.count()) > 0) return finish('the directory returned no users in scope (check the base DN, the filter and the groups); nobody was removed');
    const removed = await d.users.markMissing(started, d.now());
    r.removed = removed.length;
    await auditChanges('removed', removed);
    const deleted = await d.users.purge(d.now() - s.graceDays * 86_400_000);
    r.deleted = deleted.length;
    await auditChanges('deleted', deleted);
    return finish();
  }

  const sync: DirectorySync = {
    runNow(by) {
      if (running !== undefined) return false;
      void sync.run(by);
      return true;
    },
    run(by) {
      if (running !== undefined) return running;
      running = once(by)
        .catch((e: unknown): SyncReport => {
          // Only a store that cannot be written gets here (the directory's failures are reports).
          d.log.error('directory sync failed', { error: (e as Error).message });
          const t = d.now();
          return { started: t, finished: t, ok: false, by, seen: 0, skipped: 0, added: 0, updated: 0, disabled: 0, removed: 0, restored: 0, deleted: 0, error: (e as Error).message };
        })
        .finally(() => {
          running = undefined;
        });
      return running;
    },
    status: async () => ({ running: running !== undefined, last: await lastReport() }),
    start(everyMs = 30_000) {
      const tick = async () => {
        const s = d.settings();
        if (s.intervalMinutes === 0 || running !== undefined || !d.directory().ok) return;
        // A store that cannot be read now is asked again at the next tick.
        const prev = await lastReport().catch(() => null);
        if (prev === null || running !== undefined) return;
        if (prev === undefined || d.now() - prev.started >= s.intervalMinutes * 60_000) void sync.run('schedule');
      };
      timer = setInterval(() => void tick(), everyMs);
      timer.unref();
      // The first run soon after start when one is due (not during the start itself).
      setTimeout(() => void tick(), 2000).unref();
    },
    stop() {
      if (timer !== undefined) clearInterval(timer);
    },
  };
  return sync;
}
