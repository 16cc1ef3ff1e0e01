import { Hono, type Context } from 'hono';
import { parseCidr } from '../lib/cidr.js';
import { addClient, editClient, removeClient } from '../admin/clients.js';
import { ClientEditPage, ClientsPage, type ClientsProps, type ClientView } from '../views/clients.js';
import { seeOther, ShownOnce, stayOn, takeNotice } from './flash.js';
import type { WebEnv } from '../web-env.js';
import type { WebDeps } from './deps.js';

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

export function createClientRoutes(d: WebDeps) {
  /** A new client's secret, shown once on the page the add redirects to. */
  const created = new ShownOnce<{ name: string; address: string; secret: string }>(d.now);
  const views = (): ClientView[] =>
    d.runtimeClients().map((c) => {
      const a = d.clientActivity(c.address);
      return { ...c, lastSeen: a?.lastSeen, sendsMessageAuthenticator: a?.sentMessageAuthenticator };
    });
  const page = (c: Context<WebEnv>, extra: Partial<ClientsProps> = {}, status: 200 | 400 | 404 | 409 = 200) =>
    c.render(<ClientsPage assets={d.assets} csrf={c.get('csrf')} admin={c.get('session')!.adminName} now={d.now()} clients={views()} defaultFirstFactor={d.resolved().settings.firstFactor} {...extra} />, status);
  const actor = (c: Context<WebEnv>) => `admin:${c.get('session')!.adminName}`;

  return new Hono<WebEnv>()
    .get('/clients', (c) => {
      const shown = created.take(c.get('session')!.id, c.req.query('shown'));
      if (shown !== undefined) c.header('Cache-Control', 'no-store');
      return page(c, { created: shown, notice: takeNotice(c)?.text });
    })
    .post('/clients', async (c) => {
      const b = await c.req.parseBody();
      const input = { name: str(b['name']), address: str(b['address']), secret: str(b['secret']), requireMessageAuthenticator: str(b['requireMessageAuthenticator']), firstFactor: str(b['firstFactor']) };
      const r = await addClient(d.admin, actor(c), input);
      if (!r.ok) {
        stayOn(c, '/clients');
        return page(c, { error: { message: r.error, field: r.field }, form: input }, r.status);
      }
      return seeOther(c, `/clients?shown=${created.put(c.get('session')!.id, r.value)}`);
    })
    .get('/clients/edit', (c) => {
      const cidr = parseCidr(c.req.query('address') ?? '');
      const client = views().find((x) => x.source === 'db' && x.address === cidr?.text);
      if (client === undefined) {
        stayOn(c, '/clients');
        return page(c, { error: { message: 'No such stored client.' } }, 404);
      }
      return c.render(<ClientEditPage assets={d.assets} csrf={c.get('csrf')} admin={c.get('session')!.adminName} client={client} defaultFirstFactor={d.resolved().settings.firstFactor} />);
    })
    .post('/clients/edit', async (c) => {
      const b = await c.req.parseBody();
      const address = str(b['address']) ?? '';
      const r = await editClient(d.admin, actor(c), address, { name: str(b['name']), secret: str(b['secret']), requireMessageAuthenticator: str(b['requireMessageAuthenticator']), firstFactor: str(b['firstFactor']) });
      if (!r.ok) {
        const client = views().find((x) => x.source === 'db' && x.address === parseCidr(address)?.text);
        if (client === undefined) {
          stayOn(c, '/clients');
          return page(c, { error: { message: r.error } }, r.status);
        }
        stayOn(c, `/clients/edit?address=${encodeURIComponent(client.address)}`);
        return c.render(<ClientEditPage assets={d.assets} csrf={c.get('csrf')} admin={c.get('session')!.adminName} client={{ ...client, name: str(b['name']) ?? client.name }} defaultFirstFactor={d.resolved().settings.firstFactor} error={{ message: r.error, field: r.field }} />, r.status);
      }
      return seeOther(c, '/clients', { kind: 'ok', text: `Client ${r.value.address} saved.` });
    })
    .post('/clients/remove', async (c) => {
      const b = await c.req.parseBody();
      const r = await removeClient(d.admin, actor(c), str(b['address']) ?? '');
      if (!r.ok) {
        stayOn(c, '/clients');
        return page(c, { error: { message: r.error } }, r.status);
      }
      return seeOther(c, '/clients', { kind: 'ok', text: `Client ${r.value.address} removed; its requests are dropped from now on.` });
    })
    // The action's own URL, should a browser show it: the page it belongs to.
    .get('/clients/remove', (c) => c.redirect('/clients', 303));
}
