// The Hono environment of the web UI: what middleware puts on the context for handlers.
import type { SessionRow } from './db/queries/admins.js';

export interface WebVariables {
  /** The signed-in (or half signed-in) admin's session, if any. */
  session: SessionRow | undefined;
  /** The CSRF token forms and htmx requests must send back. */
  csrf: string;
  /** Whether the request came over HTTPS (cookies get Secure and the __Host- prefix). */
  secure: boolean;
}

export interface WebEnv {
  Variables: WebVariables;
}
