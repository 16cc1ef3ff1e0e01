// Sessions of the self-service portal (/my): in memory (a restart signs people out), bounded,
// idle after 15 minutes and over after an hour whatever happens. A session is first `password`
// (the first factor passed) and becomes `full` once the person passed the factor they have (or
// has none). The cookie carries a random id; nothing about the person is in it.
import { newToken } from '../lib/tokens.js';

export const PORTAL_IDLE_MS = 15 * 60_000;
export const PORTAL_MAX_MS = 60 * 60_000;
const MAX_SESSIONS = 10_000;

export interface PortalSession {
  id: string;
  username: string;
  stage: 'password' | 'full';
  /** May enrol a first factor: within the window, or an admin's code was given. */
  mayEnrol: boolean;
  /** A TOTP enrolment waiting for its first code: its otpauth:// URI (shown until confirmed). */
  pendingUri?: string | undefined;
  /** A phone enrolment link just made (shown until it runs out). */
  phoneLink?: { url: string; expiresAt: number } | undefined;
  started: number;
  seen: number;
}

export interface PortalSessions {
  create(username: string, stage: PortalSession['stage'], mayEnrol: boolean): PortalSession;
  /** The live session with this id (its idle clock restarted), or undefined. */
  get(id: string | undefined): PortalSession | undefined;
  drop(id: string): void;
  size(): number;
}

export function createPortalSessions(now: () => number): PortalSessions {
  const byId = new Map<string, PortalSession>();
  const alive = (s: PortalSession, t: number) => t - s.seen < PORTAL_IDLE_MS && t - s.started < PORTAL_MAX_MS;
  return {
    create(username, stage, mayEnrol) {
      const t = now();
      if (byId.size >= MAX_SESSIONS) {
        for (const [k, s] of byId) if (!alive(s, t)) byId.delete(k);
        // Still full: the oldest go (Map order is creation order).
        for (const k of byId.keys()) {
          if (byId.size < MAX_SESSIONS) break;
          byId.delete(k);
        }
      }
      const s: PortalSession = { id: newToken(), username, stage, mayEnrol, started: t, seen: t };
      byId.set(s.id, s);
      return s;
    },
    get(id) {
      if (id === undefined) return undefined;
      const s = byId.get(id);
      if (s === undefined) return undefined;
      const t = now();
      if (!alive(s, t)) {
        byId.delete(id);
        return undefined;
      }
      s.seen = t;
      return s;
    },
    drop: (id) => void byId.delete(id),
    size: () => byId.size,
  };
}
