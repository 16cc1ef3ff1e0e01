// The pages for a URL that is no page, and for an error on the server: styled like the rest,
// with a way back (a plain-text "Not found" left people stranded).
import { Layout, type Assets } from './layout.js';

export function NotFoundPage(p: { assets: Assets; csrf: string; admin?: string | undefined; path: string }) {
  return (
    <Layout title="Page not found" assets={p.assets} csrf={p.csrf} admin={p.admin}>
      <section class={p.admin === undefined ? 'card narrow' : 'card'}>
        {p.admin === undefined ? <h1>Page not found</h1> : null}
        <p>
          There is no page at <code>{p.path}</code>.
        </p>
        <p>
          <a class="button" href="/">
            Go to the dashboard
          </a>
        </p>
      </section>
    </Layout>
  );
}

export function ErrorPage(p: { assets: Assets; csrf: string }) {
  return (
    <Layout title="Something went wrong" assets={p.assets} csrf={p.csrf}>
      <section class="card narrow">
        <h1>Something went wrong</h1>
        <p>Gatehouse could not answer this request. Nothing was changed by it; the error is in the appliance's log.</p>
        <p>
          <a class="button" href="/">
            Go to the dashboard
          </a>
        </p>
      </section>
    </Layout>
  );
}

/** A signed-in admin asked for something their role does not include (app/admin/roles.ts). */
export function ForbiddenPage(p: { assets: Assets; csrf: string; admin: string; roleLabel: string; method: string; path: string }) {
  return (
    <Layout title="Not open to your role" assets={p.assets} csrf={p.csrf} admin={p.admin}>
      <section class="card">
        <p>
          Your role, <strong>{p.roleLabel}</strong>, does not include {p.method === 'GET' ? 'the page at' : 'changes at'} <code>{p.path}</code>. Nothing was changed. A full
          admin can do this, or give you another role on the Admins page.
        </p>
        <p>
          <a class="button" href="/">
            Go to the dashboard
          </a>
        </p>
      </section>
    </Layout>
  );
}
