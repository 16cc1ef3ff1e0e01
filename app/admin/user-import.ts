// Users from a CSV file (a directory export, a spreadsheet): columns username, display_name, email
// and groups, in any order, named on the first line. A dry run says what would change; the
// import itself checks the file again against the store as it is then and writes it in one
// transaction, all or nothing. A user is created or their columns present in the file are set
// (an empty cell clears); users not in the file are left alone, never removed.
import { findProfiles, pageUsers, writeProfiles, type ProfileWrite, type UserProfile } from '../db/queries/users.js';
import { csvCell, CsvError, csvValue, parseCsv } from '../lib/csv.js';
import { bad, ok, type AdminDeps, type Result } from './deps.js';
import { cleanDisplayName, cleanEmail, cleanGroups, cleanUserName } from './users.js';

/** The largest file taken (about 300,000 lines of a typical export). */
export const IMPORT_MAX_BYTES = 16 * 1024 * 1024;
export const IMPORT_MAX_ROWS = 200_000;
/** How many lines of each kind a plan lists (the counts cover all). */
const SAMPLES = 100;

type Column = 'username' | 'displayName' | 'email' | 'groups';
/** Header names as exports spell them, folded (lower case, no spaces, dashes or underscores). */
const HEADERS: Record<string, Column> = {
  username: 'username',
  user: 'username',
  name: 'username',
  login: 'username',
  samaccountname: 'username',
  displayname: 'displayName',
  fullname: 'displayName',
  email: 'email',
  mail: 'email',
  emailaddress: 'email',
  groups: 'groups',
  group: 'groups',
  memberof: 'groups',
};

export interface PlannedChange {
  line: number;
  username: string;
  /** For an update: the fields that change, in words. */
  fields: string[];
}

export interface ImportPlan {
  columns: Column[];
  /** Columns of the file that are not imported (named so the admin sees them left out). */
  ignored: string[];
  rows: number;
  creates: number;
  updates: number;
  unchanged: number;
  errors: { line: number; message: string }[];
  /** The first lines of each kind, for the preview. */
  sample: { creates: PlannedChange[]; updates: PlannedChange[] };
  /** What the import writes (only when there is no error). */
  writes: ProfileWrite[];
}

/** What a file would do to the store now. Errors name their line; any error stops the import. */
export async function planImport(d: AdminDeps, text: string): Promise<Result<ImportPlan>> {
  if (Buffer.byteLength(text, 'utf8') > IMPORT_MAX_BYTES) return bad(`the file is larger than ${IMPORT_MAX_BYTES / 1024 / 1024} MiB: split it`, 'file');
  let records;
  try {
    records = parseCsv(text);
  } catch (e) {
    if (e instanceof CsvError) return bad(`not a CSV file: ${e.message}`, 'file');
    throw e;
  }
  const [header, ...body] = records;
  if (header === undefined) return bad('the file is empty: the first line names the columns (username, display_name, email, groups)', 'file');
  if (body.length > IMPORT_MAX_ROWS) return bad(`the file has ${body.length} users; at most ${IMPORT_MAX_ROWS} at a time`, 'file');
  const columns: (Column | undefined)[] = header.fields.map((h) => HEADERS[h.trim().toLowerCase().replace(/[\s_-]+/g, '')]);
  const ignored = header.fields.filter((_, i) => columns[i] === undefined).map((h) => h.trim());
  for (const c of new Set(columns)) if (c !== undefined && columns.filter((x) => x === c).length > 1) return bad(`line 1: two columns are the ${c === 'displayName' ? 'display name' : c}`, 'file');
  const at = (c: Column) => columns.indexOf(c);
  if (at('username') < 0) return bad(`line 1: no username column (the first line names the columns: username, display_name, email, groups; it has ${header.fields.map((f) => `'${f.slice(0, 40)}'`).join(', ')})`, 'file');

  const errors: ImportPlan['errors'] = [];
  const parsed: { line: number; username: string; displayName?: string | null; email?: string | null; groups?: string[] }[] = [];
  const seen = new Map<string, number>();
  for (const r of body) {
    const cell = (c: Column) => (at(c) < 0 ? undefined : csvValue(r.fields[at(c)] ?? ''));
    if (r.fields.length > header.fields.length) {
      errors.push({ line: r.line, message: `${r.fields.length} fields where the first line names ${header.fields.length}` });
      continue;
    }
    const name = cleanUserName(d, cell('username'));
    if (!name.ok) {
      errors.push({ line: r.line, message: name.error });
      continue;
    }
    const first = seen.get(name.value);
    if (first !== undefined) {
      errors.push({ line: r.line, message: `${name.value} is on line ${first} already` });
      continue;
    }
    seen.set(name.value, r.line);
    const row: (typeof parsed)[number] = { line: r.line, username: name.value };
    const errorsBefore = errors.length;
    if (cell('displayName') !== undefined) {
      const v = cleanDisplayName(cell('displayName'));
      if (!v.ok) errors.push({ line: r.line, message: v.error });
      else row.displayName = v.value;
    }
    if (cell('email') !== undefined) {
      const v = cleanEmail(cell('email'));
      if (!v.ok) errors.push({ line: r.line, message: v.error });
      else row.email = v.value;
    }
    if (cell('groups') !== undefined) {
      const v = cleanGroups(cell('groups'));
      if (!v.ok) errors.push({ line: r.line, message: v.error });
      else row.groups = v.value;
    }
    // A line with a problem is not counted as a change: the counts say what the good lines do.
    if (errors.length === errorsBefore) parsed.push(row);
  }

  const existing = await findProfiles(d.store, parsed.map((p) => p.username));
  const plan: ImportPlan = { columns: columns.filter((c): c is Column => c !== undefined), ignored, rows: body.length, creates: 0, updates: 0, unchanged: 0, errors, sample: { creates: [], updates: [] }, writes: [] };
  for (const p of parsed) {
    const cur = existing.get(p.username);
    const write: ProfileWrite = { username: p.username, create: cur === undefined, ...pick(p) };
    if (cur === undefined) {
      plan.creates++;
      if (plan.sample.creates.length < SAMPLES) plan.sample.creates.push({ line: p.line, username: p.username, fields: [] });
      plan.writes.push(write);
      continue;
    }
    const fields = changedFields(cur, p);
    if (fields.length === 0) {
      plan.unchanged++;
      continue;
    }
    plan.updates++;
    if (plan.sample.updates.length < SAMPLES) plan.sample.updates.push({ line: p.line, username: p.username, fields });
    plan.writes.push(write);
  }
  if (errors.length > 0) plan.writes = [];
  return ok(plan);
}

function pick(p: { displayName?: string | null; email?: string | null; groups?: string[] }): Pick<ProfileWrite, 'displayName' | 'email' | 'groups'> {
  return { ...(p.displayName !== undefined ? { displayName: p.displayName } : {}), ...(p.email !== undefined ? { email: p.email } : {}), ...(p.groups !== undefined ? { groups: p.groups } : {}) };
}

function changedFields(cur: UserProfile, p: { displayName?: string | null; email?: string | null; groups?: string[] }): string[] {
  const out: string[] = [];
  if (p.displayName !== undefined && p.displayName !== cur.displayName) out.push('display name');
  if (p.email !== undefined && p.email !== cur.email) out.push('email');
  if (p.groups !== undefined && p.groups.join('\n') !== cur.groups.join('\n')) out.push('groups');
  return out;
}

/**
 * Import the file: planned again against the store as it is now, then written in one transaction
 * (all users or none). Every user created or changed gets its audit record, and the import one.
 */
export async function importUsers(d: AdminDeps, actor: string, text: string): Promise<Result<ImportPlan>> {
  const plan = await planImport(d, text);
  if (!plan.ok) return plan;
  if (plan.value.errors.length > 0) return bad(`the file has ${plan.value.errors.length} line${plan.value.errors.length === 1 ? '' : 's'} to fix first; nothing was imported`, 'file');
  const created = new Set(await writeProfiles(d.store, plan.value.writes));
  for (const w of plan.value.writes) {
    const what = created.has(w.username) ? 'user.add' : 'user.update';
    await d.audit.record({ event: what, outcome: 'ok', actor, username: w.username, details: { message: 'csv import' } });
  }
  await d.audit.record({ event: 'user.import', outcome: 'ok', actor, details: { count: plan.value.writes.length, message: `${plan.value.creates} created, ${plan.value.updates} changed, ${plan.value.unchanged} unchanged` } });
  return plan;
}

export const EXPORT_HEADER = ['username', 'display_name', 'email', 'groups', 'totp', 'locked', 'created_at'] as const;

/**
 * Every user as CSV (the import's columns first, so an export can be edited and imported again),
 * in name order, in batches of lines so 100,000 users stream without being held at once.
 */
export async function* exportUsersCsv(d: AdminDeps, batch = 1000): AsyncGenerator<string> {
  yield EXPORT_HEADER.join(',') + '\r\n';
  let after: string | undefined;
  for (;;) {
    const rows = await pageUsers(d.store, { q: '', after, limit: batch });
    if (rows.length === 0) return;
    yield rows
      .map((u) => [u.username, u.displayName, u.email, u.groups.join(';'), u.hasTotp ? 'enrolled' : u.pendingTotp ? 'waiting for a code' : 'none', u.locked ? 'yes' : 'no', new Date(u.createdAt).toISOString()].map(csvCell).join(',') + '\r\n')
      .join('');
    after = rows[rows.length - 1]!.username;
  }
}
