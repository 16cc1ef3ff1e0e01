// The appliances sharing a store, as an admin sees them: the dashboard's Appliances card and GET
// /api/v1/nodes list every node's row (app/cluster/nodes.ts), this one marked; a node not heard
// from for three heartbeats is shown as such, one that stopped cleanly as stopped. And the node
// name's rules (--node-name, default the host name).
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultNodeName, HEARTBEAT_MS, nodeViews, STALE_MS } from '../../app/cluster/nodes.js';
import { parseServeOptions } from '../../app/config.js';
import { recordNode } from '../../app/db/queries/nodes.js';
import { makeWebApp, WEB_START, type WebApp } from '../helpers/web.js';

const N = suite<{ w: WebApp }>('appliances (nodes)', { w: undefined as unknown as WebApp });
N.before.each(async (ctx) => {
  ctx.w = await makeWebApp();
  const up = JSON.stringify({ downstream: 'ok', push: 'failing' });
  await recordNode(ctx.w.store, { name: 'test-node', version: '0.1.0', startedAt: WEB_START - 60_000, heartbeatAt: WEB_START - HEARTBEAT_MS / 2, health: up });
  await recordNode(ctx.w.store, { name: 'gh-b', version: '0.0.9', startedAt: WEB_START - 600_000, heartbeatAt: WEB_START - STALE_MS - 1000, health: up });
  await recordNode(ctx.w.store, { name: 'gh-c', version: '0.1.0', startedAt: WEB_START - 600_000, heartbeatAt: WEB_START - 5000, health: JSON.stringify({ stopped: true }) });
});
N.after.each((ctx) => ctx.w.close());

N('the dashboard lists every appliance: this one, one not heard from, one stopped', async ({ w }) => {
  const me = await w.adminSession();
  const html = await (await w.app.request('/', { headers: me.headers })).text();
  const card = html.slice(html.indexOf('id="h-nodes"'), html.indexOf('id="h-recent"'));
  assert.ok(card.length > 0, 'an Appliances card');
  const rows = card.split('<tr>').slice(2);
  assert.is(rows.length, 3);
  assert.match(rows[0]!, /gh-b[\s\S]*not heard from[\s\S]*0\.0\.9/);
  assert.match(rows[1]!, /gh-c[\s\S]*stopped/);
  assert.match(rows[2]!, /test-node[\s\S]*this one[\s\S]*>up<[\s\S]*Answering[\s\S]*Not answering/);
  assert.not.match(rows[0]!, /Answering/, 'no health claimed for a node not heard from');
});

N('GET /api/v1/nodes: the same, with times', async ({ w }) => {
  const token = await w.apiToken('ci', 'readonly');
  const res = await w.app.request('/api/v1/nodes', { headers: { Authorization: `Bearer ${token}` } });
  assert.is(res.status, 200);
  const body = (await res.json()) as { nodes: { name: string; self: boolean; state: string; heartbeatAt: string; health: Record<string, string> }[] };
  assert.equal(body.nodes.map((n) => [n.name, n.self, n.state]), [['gh-b', false, 'stale'], ['gh-c', false, 'stopped'], ['test-node', true, 'up']]);
  assert.is(body.nodes[2]!.heartbeatAt, new Date(WEB_START - HEARTBEAT_MS / 2).toISOString());
  assert.equal(body.nodes[2]!.health, { downstream: 'ok', push: 'failing' });
});

N('a heartbeat that cannot be read is shown without health, not as an error', () => {
  const [v] = nodeViews([{ name: 'x', version: '1', startedAt: 0, heartbeatAt: 1000, health: 'not json' }], 'y', 2000);
  assert.equal([v!.state, v!.health, v!.self], ['up', {}, false]);
});

N('node names: --node-name or NODE_NAME checked; the default is the host name, made fit', () => {
  assert.is(parseServeOptions(['--node-name', 'gh-1.dc1'], {}).fixed.values.nodeName, 'gh-1.dc1');
  assert.is(parseServeOptions([], { NODE_NAME: 'gh-2' }).fixed.values.nodeName, 'gh-2');
  for (const bad of ['.x', 'a b', 'x'.repeat(64), 'é']) assert.throws(() => parseServeOptions(['--node-name', bad], {}), /node name/, bad);
  assert.is(defaultNodeName('given'), 'given');
  assert.match(defaultNodeName(undefined), /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/);
});

N.run();
