// The downstream RADIUS server that checks passwords (one stored; a flag or the environment wins).
import { deleteDownstreams, replaceDownstream } from '../db/queries/downstream.js';
import { bad, cleanSecret, missing, ok, type AdminDeps, type Result } from './deps.js';

export interface DownstreamInput {
  host?: string | undefined;
  port?: string | undefined;
  secret?: string | undefined;
  requireMessageAuthenticator?: boolean;
  name?: string | undefined;
}

/** The input checked (before anything is asked of the admin or changed). */
export function checkDownstream(input: DownstreamInput): Result<{ name: string; host: string; port: number; secret: string; requireMessageAuthenticator: boolean }> {
  const host = (input.host ?? '').trim();
  if (!/^[A-Za-z0-9.:_-]{1,253}$/.test(host)) return bad('host must be an IP address or host name', 'host');
  const portRaw = (input.port ?? '1812').trim();
  const port = /^\d{1,5}$/.test(portRaw) ? Number(portRaw) : NaN;
  if (!Number.isInteger(port) || port < 1 || port > 65535) return bad('port must be 1-65535', 'port');
  const secret = cleanSecret(input.secret ?? '', 'secret');
  if (!secret.ok) return secret;
  const name = input.name?.trim() ? input.name.trim() : `${host}:${port}`;
  return ok({ name, host, port, secret: secret.value, requireMessageAuthenticator: input.requireMessageAuthenticator === true });
}

export async function setDownstream(d: AdminDeps, actor: string, input: DownstreamInput): Promise<Result<{ name: string; address: string }>> {
  const c = checkDownstream(input);
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
