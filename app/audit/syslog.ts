// Audit records as RFC 5424 syslog messages, pure (the feed to a collector, app/audit/feed.ts).
//
//   <PRI>1 TIMESTAMP HOSTNAME gatehouse PROCID MSGID - MSG
//
// - PRI: facility authpriv (10: security messages that carry private details, here user names
//   and addresses; rsyslog and journald keep authpriv.* apart, readable by root only) * 8 +
//   a severity from the record's outcome (SEVERITY).
// - TIMESTAMP: the record's time (UTC, milliseconds); HOSTNAME: this machine's; PROCID: the pid.
// - MSGID: the record's event (`radius.auth`, `user.lock`, ...).
// - STRUCTURED-DATA: none (`-`); MSG: the record as one JSON object, exactly the line `gatehouse
//   audit export` gives (id, time, event, outcome, username, reason, source, client, actor,
//   details, hash), with every character beyond US-ASCII written as a \uXXXX escape, so MSG is
//   plain ASCII (RFC 5424 MSG-ANY, no BOM) that any collector passes through and any JSON parser
//   reads back to the same values.
//
// Over TCP each message is framed by octet counting (RFC 6587 3.4.1): `LENGTH SP MESSAGE`.
import type { AuditRecord, Outcome } from './chain.js';
import { jsonLine } from './export.js';

/** authpriv */
export const FACILITY = 10;

/** Severity by outcome: error 3 (err), drop 4 (warning), reject and ok 5 (notice), accept and challenge 6 (info). */
export const SEVERITY: Readonly<Record<Outcome, number>> = { error: 3, drop: 4, reject: 5, ok: 5, accept: 6, challenge: 6 };

export const APP_NAME = 'gatehouse';

export interface SyslogOrigin {
  hostname: string;
  procId: string;
}

/** A header field: printable US-ASCII (33-126) only, at most `max` characters; `-` when empty. */
export function headerField(value: string, max: number): string {
  const s = value.replace(/[^\x21-\x7e]/g, '').slice(0, max);
  return s === '' ? '-' : s;
}

/** JSON text with every character above 0x7e escaped as \uXXXX (still the same JSON value). */
export function asciiJson(json: string): string {
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The origin fields, cleaned once. */
export function syslogOrigin(hostname: string, pid: number): SyslogOrigin {
  return { hostname: headerField(hostname, 255), procId: headerField(String(pid), 128) };
}

export function syslogMessage(r: AuditRecord, origin: SyslogOrigin): string {
  const pri = FACILITY * 8 + (SEVERITY[r.outcome] ?? 5);
  return `<${pri}>1 ${new Date(r.time).toISOString()} ${origin.hostname} ${APP_NAME} ${origin.procId} ${headerField(r.event, 32)} - ${asciiJson(jsonLine(r))}`;
}

/** RFC 6587 octet-counting frame: the message's length in bytes, a space, the message. */
export function octetCounted(message: string): string {
  return `${Buffer.byteLength(message, 'utf8')} ${message}`;
}
