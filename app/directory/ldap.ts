// The directory connection (issue 14, first part): users looked up in Active Directory or OpenLDAP
// and passwords checked by binding as the user, through ldapts (a well-kept LDAP client: no LDAP
// is written here). Decisions kept here, for everything that will use it (the first factor, the
// sync, the Directory page):
//
// - Several URLs are tried in order (failover): a server that cannot be reached, or times out,
//   passes the operation to the next; an answer (even "wrong password") ends it.
// - Clear text only where nobody can listen: `ldap://` to a loopback address, or with StartTLS, or
//   when explicitly allowed. `ldaps://` and StartTLS verify the server against --ldap-ca when
//   given (the system CAs otherwise).
// - The user name goes into the filter escaped per RFC 4515, so `*`, parentheses and backslashes
//   in a name match themselves and cannot widen the search.
// - A lookup must find exactly one entry: two entries for one name is an error, never a guess.
// - Bind answers are told apart (wrong password, disabled, locked, expired, unreachable, timeout):
//   each becomes its own audit reason where the directory is used. Active Directory says which in
//   the diagnostic message's "data" code of an invalid-credentials answer.
import type { Client, Entry, InvalidCredentialsError } from 'ldapts';
import { isLoopbackHost } from '../lib/loopback.js';

export type Preset = 'ad' | 'openldap';

export interface DirectoryOptions {
  /** Tried in order: ldap://host[:port] or ldaps://host[:port]. */
  urls: string[];
  /** The account searches run as; absent: anonymous. */
  bindDn?: string | undefined;
  bindPassword?: string | undefined;
  baseDn: string;
  /** `{username}` is replaced by the escaped name; absent: the preset's. */
  userFilter?: string | undefined;
  preset: Preset;
  /** PEM: the CA (or the certificate) the server's TLS certificate must chain to. */
  ca?: Buffer | string | undefined;
  /** StartTLS on ldap:// URLs. */
  startTls: boolean;
  /** Clear-text ldap:// to a host that is not loopback, without StartTLS. */
  allowPlain: boolean;
  /** Per operation, and per connection attempt. */
  timeoutMs: number;
}

export interface DirectoryUser {
  dn: string;
  /** The account name (uid, or sAMAccountName). */
  username: string;
  displayName: string | undefined;
  email: string | undefined;
  upn: string | undefined;
  /** DNs of the groups the entry is a member of, as memberOf lists them. */
  groups: string[];
  /**
   * Active Directory's ACCOUNTDISABLE flag (userAccountControl 0x2); in OpenLDAP, the password
   * policy's administrative lock (pwdAccountLockedTime 000001010000Z).
   */
  disabled: boolean;
  /** OpenLDAP's password policy locked the account after failures (pwdAccountLockedTime, a time). */
  locked: boolean;
}

export type Failure = 'unreachable' | 'timeout' | 'tls' | 'error';
export type LookupResult = { ok: true; user: DirectoryUser } | { ok: false; reason: 'not_found' | 'ambiguous' | Failure; detail: string };
export type PasswordResult =
  | { ok: true; user: DirectoryUser }
  | { ok: false; reason: 'wrong_password' | 'not_found' | 'ambiguous' | 'disabled' | 'locked' | 'expired' | 'must_change' | Failure; detail: string };

/**
 * For each DN (lower case) of a group or a person, the DNs of the groups that hold it directly
 * (lower case): from memberOf, and from the groups' member lists.
 */
export type GroupParents = Map<string, string[]>;

/** How deep nested groups are followed when one user is looked up (OpenLDAP). */
const GROUP_DEPTH = 8;

export interface Directory {
  /** Connect and bind as the service account: "Test connection". */
  test(): Promise<{ ok: true; url: string } | { ok: false; reason: Failure | 'bind_failed'; detail: string }>;
  /** The one entry for this name: "Test user". */
  findUser(username: string): Promise<LookupResult>;
  /** Look the user up, then bind as them with the password. */
  checkPassword(username: string, password: string): Promise<PasswordResult>;
  /**
   * Every user entry under the base DN matching `filter` (the preset's filter for all users when
   * absent), handed over page by page (RFC 2696 paged results), so that 100,000 users never sit
   * in memory at once. Groups are the entries' own memberOf (direct memberships).
   */
  /** Pages of users in turn: the next page is asked for once `onPage` is done with this one (memory stays bounded). */
  eachUserPage(filter: string | undefined, pageSize: number, onPage: (users: DirectoryUser[]) => void | Promise<void>): Promise<{ ok: true; count: number } | { ok: false; reason: Failure; detail: string }>;
  /**
   * Every group, the groups it is in, and the people it lists: what (nested) memberships are
   * worked out from when the people's entries carry no memberOf (OpenLDAP without the overlay).
   */
  groupParents(): Promise<{ ok: true; parents: GroupParents } | { ok: false; reason: Failure; detail: string }>;
}

const PRESETS: Record<Preset, { filter: string; all: string; groups: string; name: string; attributes: string[] }> = {
  openldap: {
    filter: '(&(objectClass=inetOrgPerson)(uid={username}))',
    all: '(objectClass=inetOrgPerson)',
    groups: '(|(objectClass=groupOfNames)(objectClass=groupOfUniqueNames))',
    name: 'uid',
    attributes: ['uid', 'displayName', 'cn', 'mail', 'memberOf', 'pwdAccountLockedTime'],
  },
  ad: {
    filter: '(&(objectCategory=person)(objectClass=user)(|(sAMAccountName={username})(userPrincipalName={username})))',
    all: '(&(objectCategory=person)(objectClass=user))',
    groups: '(objectClass=group)',
    name: 'sAMAccountName',
    attributes: ['sAMAccountName', 'displayName', 'cn', 'mail', 'userPrincipalName', 'memberOf', 'userAccountControl'],
  },
};

/** RFC 4515 value escaping: NUL, `*`, `(`, `)` and `\` as `\XX`. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\u0000*()\\]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The filter for a user name: the template with every `{username}` replaced by the escaped name. */
export function userFilter(template: string, username: string): string {
  return template.split('{username}').join(escapeFilterValue(username));
}

/** The options' problem, as one line naming the flag; undefined when they can be used. */
export function directoryProblem(o: DirectoryOptions): string | undefined {
  if (o.urls.length === 0) return '--ldap-url: at least one ldap:// or ldaps:// URL';
  for (const raw of o.urls) {
    let u: URL;
    try {
      u = new URL(raw);
    } catch {
      return `--ldap-url: ${JSON.stringify(raw)} is not a URL`;
    }
    if (u.protocol !== 'ldap:' && u.protocol !== 'ldaps:') return `--ldap-url: ${raw} must start with ldap:// or ldaps://`;
    if (u.pathname !== '' && u.pathname !== '/') return `--ldap-url: ${raw} must name only the server (the base DN is --ldap-base-dn)`;
    if (u.protocol === 'ldap:' && !o.startTls && !o.allowPlain && !isLoopbackHost(u.hostname))
      return `--ldap-url: ${raw} would send passwords in clear text: use ldaps://, --ldap-starttls yes, or --ldap-allow-plain yes`;
  }
  if (o.baseDn.trim() === '') return '--ldap-base-dn is required';
  if ((o.bindDn === undefined) !== (o.bindPassword === undefined)) return 'the bind DN (--ldap-bind-dn) and its password (LDAP_BIND_PASSWORD, --ldap-bind-password-file or the Directory page) go together';
  if (o.userFilter !== undefined && !o.userFilter.includes('{username}')) return '--ldap-user-filter must contain {username}';
  return undefined;
}

const first = (e: Entry, name: string): string | undefined => {
  const v = e[name];
  const s = Array.isArray(v) ? v[0] : v;
  return s === undefined ? undefined : Buffer.isBuffer(s) ? s.toString('utf8') : String(s);
};
const all = (e: Entry, name: string): string[] => {
  const v = e[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
};

/** Active Directory's reason in an invalid-credentials answer ("... data 533, ..."). */
function adReason(message: string): 'disabled' | 'locked' | 'expired' | 'must_change' | 'wrong_password' {
  const m = /\bdata ([0-9a-f]{3})\b/i.exec(message);
  switch (m?.[1]?.toLowerCase()) {
    case '533':
      return 'disabled';
    case '775':
      return 'locked';
    case '532':
    case '701':
      return 'expired';
    case '773':
      return 'must_change';
    default:
      return 'wrong_password';
  }
}

function failureOf(e: unknown): { reason: Failure; detail: string } {
  const err = e as Error & { code?: string };
  const msg = (err?.message ?? String(e)).slice(0, 200);
  if (/timeout|timed out/i.test(msg) || err?.code === 'ETIMEDOUT') return { reason: 'timeout', detail: msg };
  if (/certificate|self.signed|TLS|SSL|handshake/i.test(msg) || (err?.code ?? '').startsWith('ERR_TLS') || (err?.code ?? '').includes('CERT')) return { reason: 'tls', detail: msg };
  if (['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'].includes(err?.code ?? '') || /ECONNREFUSED|ECONNRESET|closed/i.test(msg)) return { reason: 'unreachable', detail: msg };
  return { reason: 'error', detail: msg };
}

// ldapts is loaded when a directory is first asked, not at start (about 35 ms that RADIUS need
// not wait for; most appliances have no directory).
let ldapts: Promise<typeof import('ldapts')> | undefined;
const ldapLibrary = (): Promise<typeof import('ldapts')> => (ldapts ??= import('ldapts'));

export function createDirectory(o: DirectoryOptions): Directory {
  const problem = directoryProblem(o);
  if (problem !== undefined) throw new Error(problem);
  const preset = PRESETS[o.preset];
  const template = o.userFilter ?? preset.filter;
  // A fresh object for every use: ldapts writes the socket it upgrades into the options it is
  // given, and a shared object would hand one connection's socket to the next.
  const tlsOptions = () => (o.ca === undefined ? {} : { ca: o.ca });
  // ldapts speaks TLS from the first byte whenever the client has TLS options, whatever the
  // scheme: ldap:// URLs get theirs at StartTLS only.
  const client = (lib: typeof import('ldapts'), url: string) => new lib.Client({ url, timeout: o.timeoutMs, connectTimeout: o.timeoutMs, strictDN: false, ...(url.startsWith('ldaps:') ? { tlsOptions: tlsOptions() } : {}) });

  /**
   * A client bound as `dn`, trying each URL in turn (StartTLS done where asked). An answer ends
   * the search: `refused` is the server's no to this DN and password; only a server that cannot
   * be reached (or times out, or fails TLS) passes to the next.
   */
  async function bindAnywhere(dn: string, password: string): Promise<{ ok: true; client: Client; url: string } | { ok: false; refused: InvalidCredentialsError; url: string } | { ok: false; reason: Failure; detail: string }> {
    let last: { reason: Failure; detail: string } = { reason: 'unreachable', detail: 'no server' };
    const lib = await ldapLibrary();
    for (const url of o.urls) {
      const c = client(lib, url);
      try {
        if (url.startsWith('ldap:') && o.startTls) await c.startTLS(tlsOptions());
        await c.bind(dn, password);
        return { ok: true, client: c, url };
      } catch (e) {
        await c.unbind().catch(() => undefined);
        if (e instanceof lib.InvalidCredentialsError) return { ok: false, refused: e, url };
        const f = failureOf(e);
        last = { reason: f.reason, detail: `${url}: ${f.detail}` };
      }
    }
    return { ok: false, ...last };
  }

  /**
   * Bound as the service account (anonymous unless one is set: a bind of its own either way, so
   * that a server that cannot be reached fails here and the next one is tried).
   */
  async function connect(): Promise<{ ok: true; client: Client; url: string } | { ok: false; reason: Failure | 'bind_failed'; detail: string }> {
    const b = await bindAnywhere(o.bindDn ?? '', o.bindPassword ?? '');
    if (b.ok || !('refused' in b)) return b;
    return { ok: false, reason: 'bind_failed', detail: `the service account was refused (${b.url}): check --ldap-bind-dn and its password` };
  }

  async function lookup(client: Client, username: string): Promise<LookupResult> {
    const { searchEntries } = await client.search(o.baseDn, { scope: 'sub', filter: userFilter(template, username), attributes: preset.attributes, sizeLimit: 2 });
    if (searchEntries.length === 0) return { ok: false, reason: 'not_found', detail: `no entry for ${JSON.stringify(username)} under ${o.baseDn}` };
    if (searchEntries.length > 1) return { ok: false, reason: 'ambiguous', detail: `more than one entry for ${JSON.stringify(username)}` };
    const e = searchEntries[0]!;
    const user = toUser(e, username);
    // Active Directory lists only direct memberships in memberOf; the groups those are in come
    // from one search with LDAP_MATCHING_RULE_IN_CHAIN (transitive membership, evaluated by the DC).
    if (o.preset === 'ad') {
      const chain = await client.search(o.baseDn, { scope: 'sub', filter: `(member:1.2.840.113556.1.4.1941:=${escapeFilterValue(e.dn)})`, attributes: ['1.1'] });
      user.groups = [...new Set([...user.groups, ...chain.searchEntries.map((g) => g.dn)])];
    } else {
      // OpenLDAP without the memberof overlay, or groups nested in groups: the groupOfNames (and
      // groupOfUniqueNames) that list the user, then those that list them, a few levels deep.
      const seen = new Map(user.groups.map((g) => [g.toLowerCase(), g] as const));
      let level = [e.dn, ...user.groups];
      for (let depth = 0; depth < GROUP_DEPTH && level.length > 0; depth++) {
        const next: string[] = [];
        for (let i = 0; i < level.length; i += 50) {
          const any = level.slice(i, i + 50).map((dn) => `(member=${escapeFilterValue(dn)})(uniqueMember=${escapeFilterValue(dn)})`).join('');
          const found = await client.search(o.baseDn, { scope: 'sub', filter: `(&${preset.groups}(|${any}))`, attributes: ['1.1'] });
          for (const g of found.searchEntries) {
            if (seen.has(g.dn.toLowerCase())) continue;
            seen.set(g.dn.toLowerCase(), g.dn);
            next.push(g.dn);
          }
        }
        level = next;
      }
      user.groups = [...seen.values()];
    }
    return { ok: true, user };
  }

  function toUser(e: Entry, fallbackName: string): DirectoryUser {
    const uac = Number(first(e, 'userAccountControl') ?? '0');
    const lockedTime = first(e, 'pwdAccountLockedTime');
    return {
      dn: e.dn,
      username: first(e, preset.name) ?? fallbackName,
      displayName: first(e, 'displayName') ?? first(e, 'cn'),
      email: first(e, 'mail'),
      upn: first(e, 'userPrincipalName'),
      groups: all(e, 'memberOf'),
      disabled: (Number.isInteger(uac) && (uac & 0x2) !== 0) || lockedTime === '000001010000Z',
      locked: lockedTime !== undefined && lockedTime !== '000001010000Z',
    };
  }

  /** Run `fn` on a connected client, closing it after; connection failures become results. */
  async function withClient<T>(fn: (c: Client) => Promise<T>, onFailure: (f: { reason: Failure; detail: string }) => T): Promise<T> {
    const c = await connect();
    // A refused service account is a configuration error, whatever the operation.
    if (!c.ok) return onFailure(c.reason === 'bind_failed' ? { reason: 'error', detail: c.detail } : { reason: c.reason, detail: c.detail });
    try {
      return await fn(c.client);
    } catch (e) {
      return onFailure(failureOf(e));
    } finally {
      await c.client.unbind().catch(() => undefined);
    }
  }

  return {
    async test() {
      const c = await connect();
      if (!c.ok) return c;
      await c.client.unbind().catch(() => undefined);
      return { ok: true, url: c.url };
    },

    findUser: (username) => withClient((c) => lookup(c, username), (f) => ({ ok: false, ...f })),

    eachUserPage: (filter, pageSize, onPage) =>
      withClient<{ ok: true; count: number } | { ok: false; reason: Failure; detail: string }>(
        async (c) => {
          let count = 0;
          for await (const page of c.searchPaginated(o.baseDn, { scope: 'sub', filter: filter ?? preset.all, attributes: preset.attributes, paged: { pageSize } })) {
            const users = page.searchEntries.flatMap((e) => (first(e, preset.name) === undefined ? [] : [toUser(e, '')]));
            count += users.length;
            await onPage(users);
          }
          return { ok: true as const, count };
        },
        (f) => ({ ok: false, ...f }),
      ),

    groupParents: () =>
      withClient<{ ok: true; parents: GroupParents } | { ok: false; reason: Failure; detail: string }>(
        async (c) => {
          // For every DN (a group, or a person), the groups that hold it directly: from the groups'
          // memberOf (the overlay, or AD) and from their member lists (groupOfNames without it).
          const parents: GroupParents = new Map();
          const add = (child: string, group: string) => {
            const list = parents.get(child);
            if (list === undefined) parents.set(child, [group]);
            else if (!list.includes(group)) list.push(group);
          };
          for await (const page of c.searchPaginated(o.baseDn, { scope: 'sub', filter: preset.groups, attributes: ['memberOf', 'member', 'uniqueMember'], paged: { pageSize: 1000 } })) {
            for (const g of page.searchEntries) {
              const dn = g.dn.toLowerCase();
              if (!parents.has(dn)) parents.set(dn, []);
              for (const p of all(g, 'memberOf')) add(dn, p.toLowerCase());
              for (const m of [...all(g, 'member'), ...all(g, 'uniqueMember')]) if (m.toLowerCase() !== dn) add(m.toLowerCase(), dn);
            }
          }
          return { ok: true as const, parents };
        },
        (f) => ({ ok: false, ...f }),
      ),

    async checkPassword(username, password) {
      // An empty password would be an unauthenticated bind, which servers accept: never a yes.
      if (password === '') return { ok: false, reason: 'wrong_password', detail: 'empty password' };
      const found = await this.findUser(username);
      if (!found.ok) return found;
      if (found.user.disabled) return { ok: false, reason: 'disabled', detail: 'the directory account is disabled' };
      if (found.user.locked) return { ok: false, reason: 'locked', detail: 'the directory account is locked (password policy)' };
      // The user's own bind, on a connection of its own (the service account's stays clean).
      const b = await bindAnywhere(found.user.dn, password);
      if (b.ok) {
        await b.client.unbind().catch(() => undefined);
        return { ok: true, user: found.user };
      }
      if (!('refused' in b)) return b;
      const why = o.preset === 'ad' ? adReason(b.refused.message) : 'wrong_password';
      return { ok: false, reason: why, detail: why === 'wrong_password' ? 'the directory refused the password' : `the directory account is ${why.replace('_', ' ')}` };
    },
  };
}
