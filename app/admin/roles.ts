// Who may do what: the one place that decides, for every page of the admin UI and every operation
// of the API, which roles are let through. The UI's gate (app/http.tsx) and the API's token
// middleware (app/routes/api.ts) ask here after sign-in; the navigation asks here what to show.
//
// Roles (what admins coming from other MFA consoles expect):
//   admin     everything.
//   helpdesk  the people who answer "my phone is new": users (add, enrol, lock, unlock, remove,
//             import), waiting approvals, the dashboard and the audit log. Nothing of the
//             appliance's configuration: clients, downstream, settings, admins, tokens, backups.
//   readonly  every page and every read of the API, no change at all (auditors, a NOC screen).
//
// A route not listed here is for full admins only: a page added tomorrow is closed to the other
// roles until someone decides otherwise (test/routes/roles.test.ts fails until it is classified).

export const ROLES = ['admin', 'helpdesk', 'readonly'] as const;
export type Role = (typeof ROLES)[number];

export const ROLE_LABELS: Record<Role, string> = {
  admin: 'Full admin',
  helpdesk: 'Help desk',
  readonly: 'Read-only',
};

export function isRole(v: unknown): v is Role {
  return typeof v === 'string' && (ROLES as readonly string[]).includes(v);
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
type Rule = readonly [methods: readonly Method[], path: RegExp, roles: readonly Role[]];

const EVERYONE: readonly Role[] = ROLES;
const SUPPORT: readonly Role[] = ['admin', 'helpdesk'];
const READERS: readonly Role[] = ['admin', 'readonly'];

/** Browser UI, after sign-in. The first rule that matches decides. */
const UI_RULES: readonly Rule[] = [
  [['GET'], /^\/(approvals|api-docs)?$/, EVERYONE],
  // Importing users changes them: its form and preview are for those who may.
  [['GET'], /^\/users\/import$/, SUPPORT],
  [['GET'], /^\/(users|audit)(\/.*)?$/, EVERYONE],
  [['POST'], /^\/users(\/.*)?$/, SUPPORT],
  [['POST'], /^\/logout$/, EVERYONE],
  // The rest of the configuration can be read (never a secret: those are shown once, to the
  // admin who created them) but not changed.
  [['GET'], /^\/(clients|clients\/edit|downstream|directory|policy|settings|admins|tokens|applications|applications\/edit)$/, READERS],
  [['GET'], /^\/sessions$/, EVERYONE],
];

/** The JSON API under /api/v1, after the token is checked. */
const API_RULES: readonly Rule[] = [
  [['GET'], /^\/(status|nodes|approvals|audit|users)$/, EVERYONE],
  [['GET'], /^\/users\/[^/]+$/, EVERYONE],
  [['POST', 'PATCH', 'DELETE'], /^\/users(\/.*)?$/, SUPPORT],
  [['GET'], /^\/(clients|downstream|pools|realms|settings|admins|tokens|applications)$/, READERS],
  [['GET'], /^\/sessions$/, EVERYONE],
];

function allowedBy(rules: readonly Rule[], role: Role, method: string, path: string): boolean {
  if (role === 'admin') return true;
  // A HEAD is the GET without its body.
  const m = method === 'HEAD' ? 'GET' : method;
  for (const [methods, re, roles] of rules) {
    if ((methods as readonly string[]).includes(m) && re.test(path)) return roles.includes(role);
  }
  return false;
}

/** May an admin of this role send METHOD to PATH (the UI's path, e.g. `/users/lock`)? */
export function uiAllows(role: Role, method: string, path: string): boolean {
  return allowedBy(UI_RULES, role, method, path);
}

/** May a token of this role send METHOD to PATH (below /api/v1, e.g. `/users/carol/lock`)? */
export function apiAllows(role: Role, method: string, path: string): boolean {
  return allowedBy(API_RULES, role, method, path);
}
