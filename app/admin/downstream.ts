// Downstream RADIUS servers (in pools) and realms. The single-server form (`downstream set`, `PUT
// /api/downstream`, the first form on the page) fills the default pool with one server; pools and
// realms are for several servers and for routing by realm. A server given by
// --downstream-address wins over the stored default pool.
import { addDownstream, deleteDownstream, deleteDownstreams, deletePool, deleteRealm, listDownstreams, listPools, listRealms, putPool, putRealm, replaceDownstream, type NewDownstream, type StoredPool, type StoredRealm } from '../db/queries/downstream.js';
import { DEFAULT_POOL, POOL_DEFAULTS, POOL_MODES, type PoolMode } from '../radius/pools.js';
import { DEFAULT_REALM, REALM_NAME } from '../radius/realms.js';
import { bad, cleanSecret, conflict, missing, ok, type AdminDeps, type Result } from './deps.js';

export interface DownstreamInput {
  host?: string | undefined;
  port?: string | undefined;
  acctPort?: string | undefined;
  transport?: string | undefined;
  secret?: string | undefined;
  requireMessageAuthenticator?: boolean;
  name?: string | undefined;
  pool?: string | undefined;
}

/** Pool names: short, plain, usable in a URL path. */
const POOL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

function portOf(raw: string | undefined, fallback: number, field: string): Result<number> {
  const v = (raw ?? '').trim() === '' ? String(fallback) : (raw ?? '').trim();
  const n = /^\d{1,5}$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 1 || n > 65535) return bad(`${field} must be 1-65535`, field);
  return ok(n);
}

/** The input checked (before anything is asked of the admin or changed). */
export function checkDownstream(input: DownstreamInput): Result<NewDownstream> {
  const host = (input.host ?? '').trim();
  if (!/^[A-Za-z0-9.:_-]{1,253}$/.test(host)) return bad('host must be an IP address or host name', 'host');
  const transport = (input.transport ?? 'udp').trim() || 'udp';
  if (transport !== 'udp' && transport !== 'radsec') return bad('transport must be udp or radsec', 'transport');
  const port = portOf(input.port, transport === 'radsec' ? 2083 : 1812, 'port');
  if (!port.ok) return port;
  const acctPort = portOf(input.acctPort, transport === 'radsec' ? port.value : 1813, 'acctPort');
  if (!acctPort.ok) return acctPort;
  // RFC 6614 2.3: over TLS the shared secret is the fixed string "radsec".
  const secret = transport === 'radsec' ? ok('radsec') : cleanSecret(input.secret ?? '', 'secret');
  if (!secret.ok) return secret;
  const pool = (input.pool ?? DEFAULT_POOL).trim() || DEFAULT_POOL;
  if (!POOL_NAME.test(pool)) return bad('pool must be 1-64 letters, digits, . _ -', 'pool');
  const name = input.name?.trim() ? input.name.trim() : `${host}:${port.value}`;
  if (name.length > 64 || /[\u0000-\u001f\u007f]/.test(name)) return bad('name must be at most 64 printable characters', 'name');
  return ok({ name, host, port: port.value, acctPort: acctPort.value, transport, pool, secret: secret.value, requireMessageAuthenticator: input.requireMessageAuthenticator === true });
}

export async function setDownstream(d: AdminDeps, actor: string, input: DownstreamInput): Promise<Result<{ name: string; address: string }>> {
  const c = checkDownstream({ ...input, pool: DEFAULT_POOL });
  if (!c.ok) return c;
  const { name, host, port } = c.value;
  await replaceDownstream(d.store, d.sealer, c.value);
  await d.audit.record({ event: 'downstream.set', outcome: 'ok', actor, details: { name, address: `${host}:${port}` } });
  await d.afterChange();
  return ok({ name, address: `${host}:${port}` });
}

export async function removeDownstream(d: AdminDeps, actor: string): Promise<Result<null>> {
  if ((await deleteDownstreams(d.store)) === 0) return missing('no stored downstream server');
  await d.audit.record({ event: 'downstream.remove', outcome: 'ok', actor });
  await d.afterChange();
  return ok(null);
}

/** Add a server to a pool (created with the defaults if it has no settings yet). */
export async function addServer(d: AdminDeps, actor: string, input: DownstreamInput): Promise<Result<{ id: number; name: string; pool: string }>> {
  const c = checkDownstream(input);
  if (!c.ok) return c;
  const id = await addDownstream(d.store, d.sealer, c.value);
  if (id === undefined) return conflict(`pool ${c.value.pool} already has a server named ${c.value.name}`, 'name');
  await d.audit.record({ event: 'downstream.add', outcome: 'ok', actor, details: { name: c.value.name, address: `${c.value.host}:${c.value.port}`, setting: `pool=${c.value.pool} transport=${c.value.transport}` } });
  await d.afterChange();
  return ok({ id, name: c.value.name, pool: c.value.pool });
}

export async function removeServer(d: AdminDeps, actor: string, id: number): Promise<Result<null>> {
  const found = (await listDownstreams(d.store, d.sealer)).find((s) => s.id === id);
  if (found === undefined || (await deleteDownstream(d.store, id)) === 0) return missing('no such downstream server');
  await d.audit.record({ event: 'downstream.remove', outcome: 'ok', actor, details: { name: found.name, address: `${found.host}:${found.port}`, setting: `pool=${found.pool}` } });
  await d.afterChange();
  return ok(null);
}

export interface PoolInput {
  mode?: string | undefined;
  /** Seconds (decimals allowed). */
  responseWindow?: string | number | undefined;
  deadAfter?: string | number | undefined;
  /** Seconds. */
  checkInterval?: string | number | undefined;
}

function numberIn(raw: string | number | undefined, fallback: number, min: number, max: number, field: string, what: string): Result<number> {
  if (raw === undefined || (typeof raw === 'string' && raw.trim() === '')) return ok(fallback);
  const n = typeof raw === 'number' ? raw : /^\d+(\.\d+)?$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
  if (!Number.isFinite(n) || n < min || n > max) return bad(`${field} must be ${what} from ${min} to ${max}`, field);
  return ok(n);
}

export function checkPool(name: string, input: PoolInput, current?: StoredPool): Result<StoredPool> {
  if (!POOL_NAME.test(name)) return bad('pool name must be 1-64 letters, digits, . _ -', 'name');
  const mode = (input.mode ?? current?.mode ?? POOL_DEFAULTS.mode).trim();
  if (!POOL_MODES.includes(mode as PoolMode)) return bad('mode must be fail-over or load-balance', 'mode');
  const window = numberIn(input.responseWindow, (current?.responseWindowMs ?? POOL_DEFAULTS.responseWindowMs) / 1000, 0.1, 60, 'responseWindow', 'seconds');
  if (!window.ok) return window;
  const dead = numberIn(input.deadAfter, current?.deadAfter ?? POOL_DEFAULTS.deadAfter, 1, 100, 'deadAfter', 'a whole number');
  if (!dead.ok) return dead;
  if (!Number.isInteger(dead.value)) return bad('deadAfter must be a whole number', 'deadAfter');
  const check = numberIn(input.checkInterval, (current?.checkIntervalMs ?? POOL_DEFAULTS.checkIntervalMs) / 1000, 0.2, 3600, 'checkInterval', 'seconds');
  if (!check.ok) return check;
  return ok({ name, mode: mode as PoolMode, responseWindowMs: Math.round(window.value * 1000), deadAfter: dead.value, checkIntervalMs: Math.round(check.value * 1000) });
}

export async function setPool(d: AdminDeps, actor: string, name: string, input: PoolInput): Promise<Result<StoredPool>> {
  const current = (await listPools(d.store)).find((p) => p.name === name);
  const c = checkPool(name, input, current);
  if (!c.ok) return c;
  await putPool(d.store, c.value);
  await d.audit.record({ event: 'pool.set', outcome: 'ok', actor, details: { name, setting: `mode=${c.value.mode} responseWindowMs=${c.value.responseWindowMs} deadAfter=${c.value.deadAfter} checkIntervalMs=${c.value.checkIntervalMs}` } });
  await d.afterChange();
  return ok(c.value);
}

export async function removePool(d: AdminDeps, actor: string, name: string): Promise<Result<null>> {
  const usedBy = (await listRealms(d.store)).filter((r) => r.pool === name).map((r) => r.name);
  if (usedBy.length > 0) return conflict(`realm ${usedBy.join(', ')} routes to pool ${name}: change or remove it first`);
  if ((await deletePool(d.store, name)) === 0) return missing('no such pool');
  await d.audit.record({ event: 'pool.remove', outcome: 'ok', actor, details: { name } });
  await d.afterChange();
  return ok(null);
}

export interface RealmInput {
  pool?: string | undefined;
  strip?: boolean | string | undefined;
}

export function checkRealm(rawName: string, input: RealmInput): Result<StoredRealm> {
  const name = rawName.trim();
  if (!REALM_NAME.test(name)) return bad(`realm must be a domain (corp.example), a NetBIOS name (CORP) or ${DEFAULT_REALM}`, 'name');
  const pool = (input.pool ?? '').trim();
  if (!POOL_NAME.test(pool)) return bad('pool is required (1-64 letters, digits, . _ -)', 'pool');
  const strip = input.strip === true || input.strip === 'true' || input.strip === 'on' || input.strip === 'yes';
  return ok({ name: name.toUpperCase() === DEFAULT_REALM ? DEFAULT_REALM : name, pool, strip });
}

export async function setRealm(d: AdminDeps, actor: string, name: string, input: RealmInput): Promise<Result<StoredRealm>> {
  const c = checkRealm(name, input);
  if (!c.ok) return c;
  // A realm routes to a pool that is there (has settings or servers); a typo would silently send
  // its logins nowhere.
  const known = new Set([...(await listPools(d.store)).map((p) => p.name), ...(await listDownstreams(d.store, d.sealer)).map((s) => s.pool)]);
  if (d.fixedSources().downstreamAddress !== undefined) known.add(DEFAULT_POOL);
  if (!known.has(c.value.pool)) return bad(`no pool named ${c.value.pool}: create it (or add a server to it) first`, 'pool');
  // Realm names match without regard to case: one row per realm.
  const same = (await listRealms(d.store)).find((r) => r.name.toLowerCase() === c.value.name.toLowerCase() && r.name !== c.value.name);
  if (same !== undefined) await deleteRealm(d.store, same.name);
  await putRealm(d.store, c.value);
  await d.audit.record({ event: 'realm.set', outcome: 'ok', actor, details: { name: c.value.name, setting: `pool=${c.value.pool} strip=${c.value.strip}` } });
  await d.afterChange();
  return ok(c.value);
}

export async function removeRealm(d: AdminDeps, actor: string, name: string): Promise<Result<null>> {
  const found = (await listRealms(d.store)).find((r) => r.name.toLowerCase() === name.trim().toLowerCase());
  if (found === undefined || (await deleteRealm(d.store, found.name)) === 0) return missing('no such realm');
  await d.audit.record({ event: 'realm.remove', outcome: 'ok', actor, details: { name: found.name } });
  await d.afterChange();
  return ok(null);
}
