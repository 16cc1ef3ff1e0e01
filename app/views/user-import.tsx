// Importing users from a CSV file: choose the file, read what it would change (a dry run: the
// counts, the first lines of each kind, every problem with its line), then import it.
import type { ImportPlan } from '../admin/user-import.js';
import { Csrf, Flash, Layout, type Assets } from './layout.js';

export interface UserImportProps {
  assets: Assets;
  csrf: string;
  admin: string;
  /** The file checked, and its id for the import button. */
  preview?: { id: string; fileName: string; plan: ImportPlan } | undefined;
  /** A file refused as a whole (not a CSV, too large, no username column). */
  error?: string | undefined;
}

const COLUMN_WORDS: Record<string, string> = { username: 'user name', displayName: 'display name', email: 'email', groups: 'groups' };
const SHOWN_ERRORS = 100;

function Preview(p: { csrf: string; id: string; fileName: string; plan: ImportPlan }) {
  const { plan } = p;
  const failing = plan.errors.length > 0;
  const changes = plan.creates + plan.updates;
  return (
    <section class="card" aria-labelledby="h-preview" id="import-preview">
      <h2 id="h-preview">What {p.fileName} would change</h2>
      <p>
        {plan.rows.toLocaleString('en-US')} user{plan.rows === 1 ? '' : 's'} in the file, columns: {plan.columns.map((c) => COLUMN_WORDS[c] ?? c).join(', ')}.
      </p>
      <div class="grid">
        <div class="stat"><div class="n" id="n-creates">{plan.creates.toLocaleString('en-US')}</div><div class="l">New users</div></div>
        <div class="stat"><div class="n" id="n-updates">{plan.updates.toLocaleString('en-US')}</div><div class="l">Changed</div></div>
        <div class="stat"><div class="n" id="n-unchanged">{plan.unchanged.toLocaleString('en-US')}</div><div class="l">Unchanged</div></div>
        <div class="stat"><div class="n" id="n-errors">{plan.errors.length.toLocaleString('en-US')}</div><div class="l">Lines to fix</div></div>
      </div>
      {plan.ignored.length > 0 ? <p class="hint">Columns not imported: {plan.ignored.join(', ')}.</p> : null}
      {failing ? (
        <>
          <Flash kind="error">Nothing can be imported until these lines are fixed: the import is all or nothing.</Flash>
          <ul id="import-errors">
            {plan.errors.slice(0, SHOWN_ERRORS).map((e) => (
              <li>
                Line {e.line}: {e.message}
              </li>
            ))}
          </ul>
          {plan.errors.length > SHOWN_ERRORS ? <p class="hint">and {(plan.errors.length - SHOWN_ERRORS).toLocaleString('en-US')} more.</p> : null}
        </>
      ) : null}
      {plan.sample.updates.length > 0 ? (
        <>
          <h3>Changed{plan.updates > plan.sample.updates.length ? ` (the first ${plan.sample.updates.length})` : ''}</h3>
          <table id="import-updates">
            <thead><tr><th>Line</th><th>User</th><th>What changes</th></tr></thead>
            <tbody>
              {plan.sample.updates.map((c) => (
                <tr><td>{c.line}</td><td>{c.username}</td><td>{c.fields.join(', ')}</td></tr>
              ))}
            </tbody>
          </table>
        </>
      ) : null}
      {plan.sample.creates.length > 0 ? (
        <>
          <h3>New{plan.creates > plan.sample.creates.length ? ` (the first ${plan.sample.creates.length})` : ''}</h3>
          <p class="muted" id="import-creates">{plan.sample.creates.map((c) => c.username).join(', ')}</p>
        </>
      ) : null}
      <div class="row">
        {failing || changes === 0 ? null : (
          <form method="post" action="/users/import/apply">
            <Csrf token={p.csrf} />
            <input type="hidden" name="id" value={p.id} />
            <button type="submit">Import {changes.toLocaleString('en-US')} user{changes === 1 ? '' : 's'}</button>
          </form>
        )}
        <a class="button secondary" href="/users/import">{failing ? 'Choose the fixed file' : 'Choose another file'}</a>
      </div>
      {!failing && changes === 0 ? <p>The users in this file are already as it has them: nothing to import.</p> : null}
    </section>
  );
}

export function UserImportPage(p: UserImportProps) {
  return (
    <Layout title="Import users" assets={p.assets} csrf={p.csrf} admin={p.admin} active="/users">
      <p><a href="/users">← All users</a></p>
      {p.preview ? (
        <Preview csrf={p.csrf} {...p.preview} />
      ) : (
        <section class="card" aria-labelledby="h-import">
          <h2 id="h-import">A CSV file of users</h2>
          <p>
            The first line names the columns: <code>username</code> (required), <code>display_name</code>, <code>email</code>, <code>groups</code> (separated by <code>;</code>). A directory or spreadsheet export works as it is: other columns are left out, and <code>sAMAccountName</code>, <code>mail</code> and <code>memberOf</code> are understood.
          </p>
          <p class="hint">
            Users not yet here are added; for those who are, the columns in the file are set (an empty cell clears one). Nobody is removed. You see what would change before anything does. At most 16 MiB or 200,000 users per file. An export from this page can be edited and imported again.
          </p>
          <form method="post" action="/users/import" enctype="multipart/form-data" hx-boost="false">
            <Csrf token={p.csrf} />
            <div class={`field${p.error ? ' invalid' : ''}`}>
              <label for="f-file">CSV file</label>
              <input id="f-file" type="file" name="file" accept=".csv,text/csv,text/plain" required aria-invalid={p.error ? 'true' : undefined} aria-describedby={p.error ? 'f-file-hint' : undefined} />
              {p.error ? (
                <p class="hint error" id="f-file-hint">
                  {p.error}
                </p>
              ) : null}
            </div>
            <button type="submit">Check the file</button>
          </form>
        </section>
      )}
    </Layout>
  );
}
