// The OpenAPI 3.1 description of the JSON API (app/routes/api.ts), written by hand and served at
// /api/v1/openapi.json. test/routes/api.test.ts checks that its paths and the API's routes agree.

type JsonType = 'object' | 'array' | 'string' | 'integer' | 'number' | 'boolean' | 'null';

export type Schema =
  | { $ref: string; description?: string }
  | {
      type?: JsonType | JsonType[];
      description?: string;
      format?: string;
      enum?: readonly (string | number | boolean | null)[];
      properties?: Record<string, Schema>;
      required?: readonly string[];
      additionalProperties?: boolean | Schema;
      items?: Schema;
      minimum?: number;
      maximum?: number;
      minLength?: number;
      maxLength?: number;
      oneOf?: Schema[];
      default?: unknown;
      example?: unknown;
    };

interface MediaType {
  schema: Schema;
}

export interface ResponseObject {
  description: string;
  headers?: Record<string, { description: string; schema: Schema }>;
  content?: Record<string, MediaType>;
}

type ResponseOrRef = ResponseObject | { $ref: string };

interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required?: boolean;
  description?: string;
  schema: Schema;
}

export interface Operation {
  operationId: string;
  summary: string;
  description?: string;
  tags: string[];
  security?: Record<string, string[]>[];
  parameters?: Parameter[];
  requestBody?: { required: boolean; content: Record<string, MediaType> };
  responses: Record<string, ResponseOrRef>;
}

export type Method = 'get' | 'put' | 'post' | 'delete' | 'patch';
export type PathItem = Partial<Record<Method, Operation>>;

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  security: Record<string, string[]>[];
  tags: { name: string; description: string }[];
  paths: Record<string, PathItem>;
  components: {
    securitySchemes: Record<string, { type: 'http'; scheme: 'bearer'; description: string }>;
    schemas: Record<string, Schema>;
    responses: Record<string, ResponseObject>;
  };
}

const ref = (name: string): Schema => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: Schema) => ({ 'application/json': { schema } });
const ok = (description: string, schema: Schema): ResponseObject => ({ description, content: json(schema) });
const noContent: ResponseObject = { description: 'Done; no body.' };
const err = (name: 'BadRequest' | 'Unauthorized' | 'Forbidden' | 'NotFound' | 'Conflict' | 'TooLarge' | 'UnsupportedMediaType') => ({ $ref: `#/components/responses/${name}` });
const body = (schema: Schema) => ({ required: true, content: json(schema) });
/** Responses every endpoint behind the token can give, plus those of endpoints that take a body. */
const authed = { '401': err('Unauthorized'), '403': err('Forbidden') };
const withBody = { ...authed, '400': err('BadRequest'), '413': err('TooLarge'), '415': err('UnsupportedMediaType') };

const str = (description: string, extra: Omit<Extract<Schema, { type?: unknown }>, 'type' | 'description'> = {}): Schema => ({ type: 'string', description, ...extra });
const nullable = (type: JsonType, description: string, format?: string): Schema => ({ type: [type, 'null'], description, ...(format ? { format } : {}) });
const time = (description: string): Schema => ({ type: 'string', format: 'date-time', description });
const obj = (properties: Record<string, Schema>, required: readonly string[] = Object.keys(properties)): Schema => ({ type: 'object', properties, required });

const addressParam: Parameter = { name: 'address', in: 'path', required: true, description: 'The client address or CIDR, URL-encoded (10.0.0.0%2F24).', schema: { type: 'string' } };
const poolParam: Parameter = { name: 'name', in: 'path', required: true, description: 'The pool.', schema: { type: 'string' } };
const nameParam: Parameter = { name: 'name', in: 'path', required: true, description: 'User name (matched case-insensitively), URL-encoded.', schema: { type: 'string' } };
const requireMa: Schema = { type: 'string', enum: ['yes', 'no', 'auto'], description: 'Require a Message-Authenticator from this client: yes, no, or auto (required once one was seen).' };
const firstFactor: Schema = { type: 'string', enum: ['downstream', 'directory', 'default'], description: 'Who checks its passwords: the downstream RADIUS server, the directory (an LDAP bind as the user; PAP only), or default (the --first-factor setting).' };

export function openApiDocument(version: string): OpenApiDocument {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse API',
      version,
      description:
        'Automation API of the Gatehouse MFA appliance: the same operations as the admin pages. Authenticate with `Authorization: Bearer <token>`; tokens are created in the web UI (API tokens) or with `gatehouse token create NAME`, shown once and stored hashed. A token carries a role: `admin` may do everything, `helpdesk` may read the status, approvals, the audit log and users and change users (add, profile, enrol and confirm, lock, unlock, remove), `readonly` may read everything and change nothing; anything else is answered 403. Bodies are JSON (at most 64 KiB); errors are `{"error": message, "field"?: name}`. Every change writes one audit record with the actor `token:<name>`.',
    },
    servers: [{ url: '/api/v1' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'status', description: 'Counters and health' },
      { name: 'clients', description: 'RADIUS clients' },
      { name: 'downstream', description: 'The downstream RADIUS server' },
      { name: 'settings', description: 'Stored settings' },
      { name: 'users', description: 'Users and their TOTP authenticators' },
      { name: 'audit', description: 'Pending approvals and the audit log' },
      { name: 'access', description: 'Admins and API tokens' },
      { name: 'push-api', description: 'Applications of the push API Gatehouse serves (/api/token, /api/v2/...)' },
    ],
    paths: {
      '/openapi.json': {
        get: { operationId: 'getOpenApi', summary: 'This document (no token needed)', tags: ['status'], security: [], responses: { '200': ok('The OpenAPI document.', { type: 'object' }) } },
      },
      '/status': {
        get: { operationId: 'getStatus', summary: 'Version, health, counter totals and pending approvals', tags: ['status'], responses: { '200': ok('Current status.', ref('Status')), ...authed } },
      },
      '/nodes': {
        get: { operationId: 'listNodes', summary: 'The appliances sharing this store, with their heartbeats and health', tags: ['status'], responses: { '200': ok('The appliances, by name.', obj({ nodes: { type: 'array', items: ref('Node') } })), ...authed } },
      },
      '/clients': {
        get: { operationId: 'listClients', summary: 'RADIUS clients in use, including read-only ones set by a flag or the environment', tags: ['clients'], responses: { '200': ok('The clients; secrets are never returned.', obj({ clients: { type: 'array', items: ref('Client') } })), ...authed } },
        post: {
          operationId: 'addClient',
          summary: 'Add a RADIUS client',
          description: 'Without a secret one is generated. The secret is returned in this answer only.',
          tags: ['clients'],
          requestBody: body(ref('ClientInput')),
          responses: {
            '201': { description: 'Added; `Location` names the client.', headers: { Location: { description: 'URL of the client', schema: { type: 'string' } } }, content: json(ref('ClientCreated')) },
            ...withBody,
            '409': err('Conflict'),
          },
        },
      },
      '/clients/{address}': {
        patch: {
          operationId: 'editClient',
          summary: 'Change a stored client (name, secret, Message-Authenticator)',
          tags: ['clients'],
          parameters: [addressParam],
          requestBody: body(ref('ClientPatch')),
          responses: { '200': ok('The client as it is now.', ref('Client')), ...withBody, '404': err('NotFound'), '409': err('Conflict') },
        },
        delete: { operationId: 'removeClient', summary: 'Remove a stored client', tags: ['clients'], parameters: [addressParam], responses: { '204': noContent, ...authed, '404': err('NotFound'), '409': err('Conflict') } },
      },
      '/downstream': {
        get: { operationId: 'getDownstream', summary: 'The downstream RADIUS server, or null', tags: ['downstream'], responses: { '200': ok('The server in use.', obj({ downstream: { oneOf: [ref('Downstream'), { type: 'null' }] } })), ...authed } },
        put: {
          operationId: 'setDownstream',
          summary: 'Set (replace) the stored downstream server',
          tags: ['downstream'],
          requestBody: body(ref('DownstreamInput')),
          responses: { '200': ok('The server in use.', obj({ downstream: ref('Downstream') })), ...withBody, '409': err('Conflict') },
        },
        delete: { operationId: 'removeDownstream', summary: 'Remove the stored downstream server', tags: ['downstream'], responses: { '204': noContent, ...authed, '404': err('NotFound') } },
      },
      '/pools': {
        get: { operationId: 'listPools', summary: 'Pools of downstream servers, with each server\'s health (alive, zombie, dead)', tags: ['downstream'], responses: { '200': ok('The pools.', obj({ pools: { type: 'array', items: ref('Pool') } })), ...authed } },
      },
      '/pools/{name}': {
        put: { operationId: 'setPool', summary: 'Create a pool or change its settings', tags: ['downstream'], parameters: [poolParam], requestBody: body(ref('PoolInput')), responses: { '200': ok('Every pool as it is now.', obj({ pools: { type: 'array', items: ref('Pool') } })), ...withBody } },
        delete: { operationId: 'removePool', summary: 'Remove a pool and its servers (refused while a realm routes to it)', tags: ['downstream'], parameters: [poolParam], responses: { '204': noContent, ...authed, '404': err('NotFound'), '409': err('Conflict') } },
      },
      '/pools/{name}/servers': {
        post: { operationId: 'addPoolServer', summary: 'Add a server to a pool (created with the defaults if new)', tags: ['downstream'], parameters: [poolParam], requestBody: body(ref('ServerInput')), responses: { '201': ok('The new server\'s id and every pool.', obj({ id: { type: 'integer' }, pools: { type: 'array', items: ref('Pool') } })), ...withBody, '409': err('Conflict') } },
      },
      '/pools/{name}/servers/{id}': {
        delete: { operationId: 'removePoolServer', summary: 'Remove a server from a pool', tags: ['downstream'], parameters: [poolParam, { name: 'id', in: 'path', required: true, description: 'The server\'s id.', schema: { type: 'integer' } }], responses: { '204': noContent, ...authed, '404': err('NotFound') } },
      },
      '/sessions': {
        get: {
          operationId: 'listSessions',
          summary: 'Who is connected now, from RADIUS accounting (newest first)',
          tags: ['downstream'],
          parameters: [
            { name: 'username', in: 'query', required: false, description: 'Only this user\'s sessions.', schema: { type: 'string' } },
            { name: 'limit', in: 'query', required: false, description: 'At most this many (1-10000, default 1000).', schema: { type: 'integer', minimum: 1, maximum: 10000 } },
          ],
          responses: {
            '200': ok(
              'The sessions.',
              obj({
                sessions: {
                  type: 'array',
                  items: obj({
                    username: str('User-Name as the NAS sent it.'),
                    client: str('The RADIUS client.'),
                    nas: str('NAS-Identifier, or NAS-IP-Address.'),
                    sessionId: str('Acct-Session-Id.'),
                    nasPort: nullable('string', 'NAS-Port-Id or NAS-Port.'),
                    framedIp: nullable('string', 'Framed-IP-Address.'),
                    callingStationId: nullable('string', 'Calling-Station-Id.'),
                    startedAt: time('When the session started.'),
                    updatedAt: time('The last Start or Interim-Update.'),
                    inputBytes: { type: 'integer' },
                    outputBytes: { type: 'integer' },
                  }),
                },
              }),
            ),
            ...authed,
            '400': err('BadRequest'),
          },
        },
      },
      '/realms': {
        get: { operationId: 'listRealms', summary: 'Realms and the pool each routes to', tags: ['downstream'], responses: { '200': ok('The realms.', obj({ realms: { type: 'array', items: ref('Realm') } })), ...authed } },
      },
      '/realms/{name}': {
        put: { operationId: 'setRealm', summary: 'Route a realm (corp.example, CORP, or DEFAULT) to a pool', tags: ['downstream'], parameters: [{ name: 'name', in: 'path', required: true, description: 'The realm.', schema: { type: 'string' } }], requestBody: body(obj({ pool: str('The pool.'), strip: { type: 'boolean', default: false, description: 'Send the user name without its realm.' } }, ['pool'])), responses: { '200': ok('The realm.', obj({ realm: ref('Realm') })), ...withBody } },
        delete: { operationId: 'removeRealm', summary: 'Remove a realm', tags: ['downstream'], parameters: [{ name: 'name', in: 'path', required: true, description: 'The realm.', schema: { type: 'string' } }], responses: { '204': noContent, ...authed, '404': err('NotFound') } },
      },
      '/settings': {
        get: { operationId: 'listSettings', summary: 'Every setting that can be stored, with its value and where it comes from', tags: ['settings'], responses: { '200': ok('The settings.', obj({ settings: { type: 'array', items: ref('Setting') } })), ...authed } },
      },
      '/settings/{key}': {
        put: {
          operationId: 'setSetting',
          summary: 'Store a setting; an empty string (or null) goes back to the default',
          tags: ['settings'],
          parameters: [{ name: 'key', in: 'path', required: true, description: 'The setting, named as its flag without dashes in front (e.g. failmode).', schema: { type: 'string' } }],
          requestBody: body(obj({ value: nullable('string', 'The new value; "" or null removes the stored value.') })),
          responses: { '200': ok('The setting as it is now.', ref('Setting')), ...withBody, '404': err('NotFound'), '409': err('Conflict') },
        },
      },
      '/users': {
        get: {
          operationId: 'listUsers',
          summary: 'Users in name order, one page at a time, optionally those matching q',
          description: 'Pass `next_after` of one page as `after` to get the next; it is null on the last page.',
          tags: ['users'],
          parameters: [
            { name: 'q', in: 'query', description: 'Part of the user name, display name or email (any case), or a group’s exact name.', schema: { type: 'string' } },
            { name: 'after', in: 'query', description: 'The user name the previous page ended with.', schema: { type: 'string' } },
            { name: 'limit', in: 'query', description: 'Users per page.', schema: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } },
          ],
          responses: {
            '200': ok('A page of users.', obj({ users: { type: 'array', items: ref('User') }, total: { type: 'integer', minimum: 0, description: 'Users matching q, in all.' }, next_after: nullable('string', 'The `after` of the next page.') })),
            ...authed,
            '400': err('BadRequest'),
          },
        },
        post: {
          operationId: 'addUser',
          summary: 'Add a user, with a profile if given',
          tags: ['users'],
          requestBody: body({ type: 'object', properties: { username: str('The user name as RADIUS clients or Windows pass it; stored in lower case.', { minLength: 1 }), displayName: str('Optional.'), email: str('Optional.'), groups: { oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }], description: 'Optional.' } }, required: ['username'] }),
          responses: { '201': ok('Added.', ref('User')), ...withBody, '409': err('Conflict') },
        },
      },
      '/users/{name}': {
        get: { operationId: 'getUser', summary: 'One user', tags: ['users'], parameters: [nameParam], responses: { '200': ok('The user.', ref('User')), ...authed, '400': err('BadRequest'), '404': err('NotFound') } },
        patch: { operationId: 'updateUser', summary: 'Set a user’s display name, email or groups', tags: ['users'], parameters: [nameParam], requestBody: body(ref('Profile')), responses: { '200': ok('The user.', ref('User')), ...withBody, '404': err('NotFound') } },
        delete: { operationId: 'removeUser', summary: 'Remove a user and their TOTP account', tags: ['users'], parameters: [nameParam], responses: { '204': noContent, ...authed, '400': err('BadRequest'), '404': err('NotFound') } },
      },
      '/users/{name}/lock': {
        post: { operationId: 'lockUser', summary: 'Lock a user until unlocked', tags: ['users'], parameters: [nameParam], responses: { '200': ok('The user.', ref('User')), ...authed, '400': err('BadRequest'), '404': err('NotFound') } },
      },
      '/users/{name}/unlock': {
        post: { operationId: 'unlockUser', summary: 'Unlock a user (also ends an automatic lockout)', tags: ['users'], parameters: [nameParam], responses: { '200': ok('The user.', ref('User')), ...authed, '400': err('BadRequest'), '404': err('NotFound') } },
      },
      '/users/{name}/totp': {
        post: {
          operationId: 'enrolTotp',
          summary: 'Start a new TOTP authenticator for the user (creating the user if needed)',
          description:
            'The otpauth:// URI carries the seed and is returned in this answer only. By default the new authenticator waits for a code from the user’s app (POST /users/{name}/totp/confirm) and does not count until then; the user’s current one, if any, keeps working meanwhile. `{"activate": "now"}` makes it count at once, replacing the current one (for provisioning scripts). The body is optional.',
          tags: ['users'],
          parameters: [nameParam],
          requestBody: { required: false, content: json({ type: 'object', properties: { activate: { type: 'string', enum: ['after-code', 'now'], default: 'after-code' } } }) },
          responses: { '201': ok('Enrolled.', obj({ username: str('The normalised user name.'), uri: str('otpauth://totp/... URI for an authenticator app.', { format: 'uri' }), confirmed: { type: 'boolean', description: 'Whether it counts for logins already (activate: now).' } })), ...withBody },
        },
        delete: { operationId: 'removeTotp', summary: 'Remove the user’s TOTP account', tags: ['users'], parameters: [nameParam], responses: { '204': noContent, ...authed, '400': err('BadRequest'), '404': err('NotFound') } },
      },
      '/users/{name}/totp/confirm': {
        post: {
          operationId: 'confirmTotp',
          summary: 'Confirm a new TOTP authenticator with a code from the user’s app',
          description: 'The code of the current 30-second step or the one before it. Once confirmed it replaces the user’s current authenticator; the code used cannot also log in.',
          tags: ['users'],
          parameters: [nameParam],
          requestBody: body(obj({ code: str('The code the app shows.', { example: '123456' }) })),
          responses: { '200': ok('Confirmed: the user.', ref('User')), ...withBody, '404': err('NotFound'), '409': err('Conflict') },
        },
      },
      '/users/{name}/totp/pending': {
        delete: { operationId: 'cancelTotpEnrolment', summary: 'Cancel a new TOTP authenticator waiting for its code', tags: ['users'], parameters: [nameParam], responses: { '204': noContent, ...authed, '400': err('BadRequest'), '404': err('NotFound') } },
      },
      '/approvals': {
        get: { operationId: 'listApprovals', summary: 'Push approvals waiting for the user', tags: ['audit'], responses: { '200': ok('Pending pushes.', obj({ approvals: { type: 'array', items: ref('Approval') } })), ...authed } },
      },
      '/audit': {
        get: {
          operationId: 'listAudit',
          summary: 'Audit records, newest first, one page at a time',
          description: 'Pass `next_before` of one page as `before` to get the next; it is null on the last page. Times are UTC (`2025-01-31T08:00`, or with an offset).',
          tags: ['audit'],
          parameters: [
            { name: 'from', in: 'query', description: 'Records at or after this time.', schema: { type: 'string' } },
            { name: 'to', in: 'query', description: 'Records up to the end of this minute.', schema: { type: 'string' } },
            { name: 'username', in: 'query', description: 'Exact user name.', schema: { type: 'string' } },
            { name: 'event', in: 'query', description: 'Exact event, e.g. radius.auth or client.add.', schema: { type: 'string' } },
            { name: 'outcome', in: 'query', description: 'Outcome.', schema: { type: 'string', enum: ['accept', 'reject', 'drop', 'challenge', 'error', 'ok'] } },
            { name: 'source', in: 'query', description: 'Start of the source, e.g. 192.0.2.7.', schema: { type: 'string' } },
            { name: 'before', in: 'query', description: 'Only records with an id below this one.', schema: { type: 'integer', minimum: 1 } },
            { name: 'limit', in: 'query', description: 'Records per page.', schema: { type: 'integer', minimum: 1, maximum: 500, default: 100 } },
          ],
          responses: { '200': ok('One page.', obj({ records: { type: 'array', items: ref('AuditRecord') }, next_before: nullable('integer', 'The `before` of the next page; null on the last.') })), ...authed, '400': err('BadRequest') },
        },
      },
      '/admins': {
        get: { operationId: 'listAdmins', summary: 'Admins of the web UI', tags: ['access'], responses: { '200': ok('The admins; password hashes are never returned.', obj({ admins: { type: 'array', items: ref('Admin') } })), ...authed } },
      },
      '/applications': {
        get: { operationId: 'listApplications', summary: 'Applications of the push API Gatehouse serves', tags: ['push-api'], responses: { '200': ok('The applications; client secrets are never returned.', obj({ applications: { type: 'array', items: ref('Application') } })), ...authed } },
        post: {
          operationId: 'createApplication',
          summary: 'Create an application of the push API',
          description: 'Returns its access id, OAuth2 client id and client secret (this answer only) and the base URL callers configure.',
          tags: ['push-api'],
          requestBody: body(ref('ApplicationInput')),
          responses: {
            '201': { description: 'Created; `Location` names it.', headers: { Location: { description: 'URL of the application', schema: { type: 'string' } } }, content: json(ref('ApplicationCreated')) },
            ...withBody,
            '409': err('Conflict'),
          },
        },
      },
      '/applications/{name}': {
        patch: {
          operationId: 'changeApplication',
          summary: 'Change the sources allowed without a token and the rate limit',
          tags: ['push-api'],
          parameters: [{ name: 'name', in: 'path', required: true, description: 'Application name.', schema: { type: 'string' } }],
          requestBody: body(obj({ allowedSources: { type: 'array', items: { type: 'string' }, description: 'Addresses or CIDRs that may call without a token; empty: none.' }, rateLimit: { type: 'integer', minimum: 0, description: 'Calls per second; 0: no limit.' } })),
          responses: { '200': ok('The application as it is now.', ref('Application')), ...withBody, '404': err('NotFound') },
        },
        delete: { operationId: 'removeApplication', summary: 'Remove an application (its tokens stop working at once)', tags: ['push-api'], parameters: [{ name: 'name', in: 'path', required: true, description: 'Application name.', schema: { type: 'string' } }], responses: { '204': noContent, ...authed, '404': err('NotFound') } },
      },
      '/applications/{name}/secret': {
        post: {
          operationId: 'renewApplicationSecret',
          summary: 'A new client secret (this answer only); tokens issued with the old one stop working',
          tags: ['push-api'],
          parameters: [{ name: 'name', in: 'path', required: true, description: 'Application name.', schema: { type: 'string' } }],
          responses: { '200': ok('The new secret.', obj({ name: str('Application name.'), clientSecret: str('The new client secret.') })), ...authed, '404': err('NotFound') },
        },
      },
      '/tokens': {
        get: { operationId: 'listTokens', summary: 'API tokens by name', tags: ['access'], responses: { '200': ok('The tokens; the tokens themselves are never returned.', obj({ tokens: { type: 'array', items: ref('Token') } })), ...authed } },
      },
    },
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An API token from the web UI (API tokens) or `gatehouse token create NAME`.' },
      },
      schemas: {
        Error: obj({ error: str('What went wrong, for a person to read.'), field: str('The request field at fault, where there is one.') }, ['error']),
        Status: obj({
          version: str('Gatehouse version.'),
          time: time('Now, on the appliance.'),
          health: obj({ downstream: { type: 'string', enum: ['ok', 'degraded', 'unknown', 'failing', 'none'] }, push: { type: 'string', enum: ['ok', 'unknown', 'failing', 'none'] } }),
          downstream: nullable('string', 'Name of the downstream server in use.'),
          totals: obj(Object.fromEntries(['requests', 'accepts', 'rejects', 'challenges', 'drops', 'retransmissions', 'errors'].map((k): [string, Schema] => [k, { type: 'integer', minimum: 0 }]))),
          pending: obj({ pushes: { type: 'integer', description: 'Push approvals waiting.' }, logins: { type: 'integer', description: 'Logins waiting on them.' } }),
          counters: { type: 'object', description: 'Every counter by name and reason, e.g. `drops{reason="unknown_client"}`.', additionalProperties: { type: 'integer' } },
        }),
        Client: obj({
          name: str('Display name.'),
          address: str('Address or CIDR.'),
          source: { type: 'string', enum: ['flag', 'env', 'db'], description: 'Where it is configured; flag and env clients are read-only here.' },
          readOnly: { type: 'boolean' },
          requireMessageAuthenticator: requireMa,
          messageAuthenticatorSeen: { type: 'boolean' },
          firstFactor: firstFactor,
          lastSeen: nullable('string', 'Last request from it since start.', 'date-time'),
          sendsMessageAuthenticator: nullable('boolean', 'Whether its last request carried a Message-Authenticator.'),
        }),
        ClientInput: obj(
          { name: str('Display name; the address when absent.', { maxLength: 64 }), address: str('IP address or CIDR, e.g. 10.0.0.1 or 10.0.0.0/24.'), secret: str('Shared secret (8-128 characters); generated when absent.', { minLength: 8, maxLength: 128 }), requireMessageAuthenticator: { ...requireMa, default: 'auto' }, firstFactor: { ...firstFactor, default: 'default' } },
          ['address'],
        ),
        ClientPatch: obj({ name: str('Display name.', { maxLength: 64 }), secret: str('New shared secret (8-128 characters).', { minLength: 8, maxLength: 128 }), requireMessageAuthenticator: requireMa, firstFactor }, []),
        ClientCreated: obj({ name: str('Display name.'), address: str('Canonical address or CIDR.'), secret: str('The shared secret; shown this once.') }),
        Downstream: obj({
          name: str('Display name.'),
          host: str('IP address or host name.'),
          port: { type: 'integer', minimum: 1, maximum: 65535 },
          source: { type: 'string', enum: ['flag', 'env', 'db'] },
          readOnly: { type: 'boolean' },
          requireMessageAuthenticator: { type: 'boolean', description: 'Answers without a Message-Authenticator are refused.' },
        }),
        Pool: obj({
          name: str('Pool name.'),
          mode: { type: 'string', enum: ['fail-over', 'load-balance'] },
          responseWindowSeconds: { type: 'number', description: 'How long a request waits for one server before the next is tried.' },
          deadAfter: { type: 'integer', description: 'Unanswered requests or probes in a row that make a server dead.' },
          checkIntervalSeconds: { type: 'number', description: 'How often zombie and dead servers are probed with Status-Server.' },
          servers: {
            type: 'array',
            items: obj({
              id: nullable('integer', 'Stored id; null for the server given by --downstream-address.'),
              name: str('Display name.'),
              address: str('host:port.'),
              acctPort: { type: 'integer' },
              transport: { type: 'string', enum: ['udp', 'radsec'] },
              state: { type: 'string', enum: ['alive', 'zombie', 'dead'] },
              unanswered: { type: 'integer' },
              outstanding: { type: 'integer' },
              lastAnswer: nullable('string', 'When it last answered.', 'date-time'),
              since: time('In this state since.'),
            }),
          },
        }),
        PoolInput: obj(
          {
            mode: { type: 'string', enum: ['fail-over', 'load-balance'], default: 'fail-over' },
            responseWindowSeconds: { type: ['number', 'string'], minimum: 0.1, maximum: 60, default: 2 },
            deadAfter: { type: ['integer', 'string'], minimum: 1, maximum: 100, default: 3 },
            checkIntervalSeconds: { type: ['number', 'string'], minimum: 0.2, maximum: 3600, default: 10 },
          },
          [],
        ),
        ServerInput: obj(
          {
            host: str('IP address (IPv4 or IPv6) or host name.'),
            port: { type: ['integer', 'string'], minimum: 1, maximum: 65535, default: 1812, description: 'Authentication port (RadSec: 2083).' },
            acctPort: { type: ['integer', 'string'], minimum: 1, maximum: 65535, default: 1813, description: 'Accounting port (RadSec: the same connection).' },
            transport: { type: 'string', enum: ['udp', 'radsec'], default: 'udp' },
            secret: str('Shared secret (8-128 characters); not used over RadSec, whose secret is "radsec".', { minLength: 8, maxLength: 128 }),
            requireMessageAuthenticator: { type: 'boolean', default: false },
            name: str('Display name; host:port when absent.'),
          },
          ['host'],
        ),
        Realm: obj({ name: str('corp.example, CORP, or DEFAULT.'), pool: str('The pool its requests go to.'), strip: { type: 'boolean' } }),
        DownstreamInput: obj(
          {
            host: str('IP address or host name.'),
            port: { type: ['integer', 'string'], description: 'UDP port.', minimum: 1, maximum: 65535, default: 1812 },
            secret: str('Shared secret (8-128 characters).', { minLength: 8, maxLength: 128 }),
            requireMessageAuthenticator: { type: 'boolean', default: false },
            name: str('Display name; host:port when absent.'),
          },
          ['host', 'secret'],
        ),
        Node: obj({
          name: str('The node name (--node-name, default the host name).'),
          self: { type: 'boolean', description: 'This is the appliance answering.' },
          state: { type: 'string', enum: ['up', 'stopped', 'stale'], description: 'up: heard from within 30 s; stopped: it said so at shutdown; stale: not heard from since.' },
          version: str('Its Gatehouse version.'),
          startedAt: time('When it started.'),
          heartbeatAt: time('Its last heartbeat.'),
          health: obj({ downstream: str('ok, unknown, failing or none.'), push: str('ok, unknown, failing or none.') }, []),
        }),
        Setting: obj({
          key: str('The flag without its dashes, e.g. failmode.'),
          env: str('The environment variable that can fix it.'),
          value: nullable('string', 'The value in use, as text; null when unset.'),
          default: nullable('string', 'The built-in default, as text.'),
          source: { type: 'string', enum: ['flag', 'env', 'stored', 'default'] },
          readOnly: { type: 'boolean', description: 'Set by a flag or the environment: cannot be changed here.' },
          help: str('What it means.'),
        }),
        User: obj({
          username: str('Normalised (lower-case) user name.'),
          displayName: nullable('string', 'A full name, for people reading lists.'),
          email: nullable('string', 'Email address.'),
          groups: { type: 'array', items: { type: 'string' }, description: 'Group names, lower case, sorted.' },
          locked: { type: 'boolean', description: 'Locked by an admin.' },
          lockedUntil: nullable('string', 'End of an automatic lockout after wrong codes.', 'date-time'),
          failedAttempts: { type: 'integer', minimum: 0 },
          hasTotp: { type: 'boolean', description: 'A TOTP authenticator counts for logins.' },
          totpPending: { type: 'boolean', description: 'A new TOTP authenticator waits for its first code (POST /users/{name}/totp/confirm); it does not count until then.' },
          createdAt: time('When the user was added.'),
        }),
        Profile: {
          type: 'object',
          description: 'Fields left out stay as they are; an empty string (or an empty array) clears one.',
          properties: {
            displayName: str('At most 200 printable characters.'),
            email: str('An email address.'),
            groups: { oneOf: [{ type: 'array', items: { type: 'string' } }, { type: 'string' }], description: 'Group names (an array, or one string separated by ; or ,); stored lower case.' },
          },
        },
        Approval: obj({
          username: str('Who is asked (canonical user name).'),
          door: { type: 'string', enum: ['radius', 'windows', 'api', 'portal'], description: 'Where the login came from: RADIUS, Windows logon (pipe or agent), an application of the push API Gatehouse serves, or the self-service portal (/my).' },
          client: str('The RADIUS client that sent the login, or `pipe` / `agent:NAME` for Windows logon.'),
          station: nullable('string', 'Calling-Station-Id of a RADIUS login, or the workstation of a Windows logon.'),
          callingStationId: nullable('string', 'Calling-Station-Id of a RADIUS login (null for Windows logon).'),
          startedAt: time('When the push was sent.'),
          expiresAt: time('When it stops waiting.'),
          ttlSeconds: { type: 'integer' },
          waiting: { type: 'integer', description: 'Logins waiting on this push.' },
        }),
        AuditRecord: obj({
          id: { type: 'integer' },
          time: time('When it happened.'),
          event: str('E.g. radius.auth, client.add, settings.set.'),
          outcome: { type: 'string', enum: ['accept', 'reject', 'drop', 'challenge', 'error', 'ok'] },
          username: nullable('string', 'The user concerned.'),
          reason: nullable('string', 'Why, for decisions.'),
          source: nullable('string', 'Where the request came from.'),
          client: nullable('string', 'RADIUS client name.'),
          actor: nullable('string', '`admin:NAME`, `token:NAME` or a CLI actor, for changes.'),
          details: { type: ['object', 'null'], description: 'Further fields from a closed list.' },
          hash: str('Hash-chain value of this record.'),
        }),
        Admin: obj({ name: str('Sign-in name.'), role: { type: 'string', enum: ['admin', 'helpdesk', 'readonly'], description: 'What the admin may do.' }, hasTotp: { type: 'boolean' }, createdAt: time('When the admin was added.') }),
        Application: obj({
          name: str('Application name.'),
          accessId: str('Its access id, in the push API URLs (not a secret).'),
          clientId: str('OAuth2 client id for POST /api/token.'),
          allowedSources: { type: 'array', items: { type: 'string' }, description: 'CIDRs that may call without a token; empty: none.' },
          rateLimit: { type: 'integer', minimum: 0, description: 'Calls per second; 0: no limit.' },
          createdBy: str('Who created it.'),
          createdAt: time('When it was created.'),
          lastUsedAt: nullable('string', 'Last call (to the minute).', 'date-time'),
        }),
        ApplicationInput: obj({ name: str('Name: 1-64 letters, digits, . _ @ -.'), allowedSources: { type: 'array', items: { type: 'string' }, description: 'Addresses or CIDRs that may call without a token (off when absent).' }, rateLimit: { type: 'integer', minimum: 0, description: 'Calls per second (default 10000; 0: no limit).' } }, ['name']),
        ApplicationCreated: obj({ name: str('Application name.'), accessId: str('Access id.'), clientId: str('OAuth2 client id.'), clientSecret: str('OAuth2 client secret, returned this once.'), apiUrl: str('The base URL callers configure (Notakey host), ending in /api/.') }),
        Token: obj({ name: str('Token name.'), role: { type: 'string', enum: ['admin', 'helpdesk', 'readonly'], description: 'What the token may do.' }, createdBy: str('Who created it.'), createdAt: time('When it was created.'), lastUsedAt: nullable('string', 'Last use (to the minute).', 'date-time') }),
      },
      responses: {
        BadRequest: { description: 'A field is missing or wrong, or the body is not a JSON object; `field` names the field.', content: json(ref('Error')) },
        Unauthorized: { description: 'No token, or an unknown or revoked one.', headers: { 'WWW-Authenticate': { description: 'Bearer', schema: { type: 'string' } } }, content: json(ref('Error')) },
        NotFound: { description: 'No such thing.', content: json(ref('Error')) },
        Forbidden: { description: 'The token’s role does not allow this operation.', content: json(ref('Error')) },
        Conflict: { description: 'It exists already, or it is set by a flag or the environment and cannot be changed here.', content: json(ref('Error')) },
        TooLarge: { description: 'The body is larger than 64 KiB.', content: json(ref('Error')) },
        UnsupportedMediaType: { description: 'The body is not sent as application/json.', content: json(ref('Error')) },
      },
    },
  };
}
