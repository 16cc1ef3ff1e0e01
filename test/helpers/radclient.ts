/**
 * A small wrapper around FreeRADIUS's `radclient` (Debian package freeradius-utils) for tests.
 *
 * Runs `radclient -x -t T -r R server code secret` with the attribute lines on stdin, via spawn
 * (no shell). radclient exits 0 only for the expected answer (Access-Accept for auth, and any
 * answer for status); an Access-Reject / Access-Challenge / no answer exits 1.
 *
 * Useful facts about radclient input: `CHAP-Password = "cleartext"` makes it compute CHAP;
 * `Message-Authenticator = 0x00` makes it add a real Message-Authenticator;
 * `Packet-Src-IP-Address = 127.0.0.2` sends from that local address.
 */
import { spawn } from 'node:child_process';
import { findTool, requireTool } from './freeradius.js';

export interface RadclientOptions {
  /** host:port */
  server: string;
  secret: string;
  /** radclient attribute lines, e.g. 'User-Name = "alice"\nUser-Password = "secret"' */
  attrs: string;
  code?: 'auth' | 'status' | 'acct';
  /** Seconds to wait before retrying (may be fractional). Default 2. */
  timeoutSec?: number;
  /** Retries after a timeout. Default 1 (radclient counts the first send as one try). */
  retries?: number;
}

export interface RadclientResult {
  /** radclient's exit code (128 + signal number if it was killed). */
  code: number;
  stdout: string;
  stderr: string;
  /** e.g. 'Access-Accept', parsed from "Received Access-Accept Id ..."; undefined when no answer. */
  replyCode?: string;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export function runRadclient(opts: RadclientOptions): Promise<RadclientResult> {
  requireTool('radclient', 'freeradius-utils');
  const binary = findTool('radclient') as string;
  const timeoutSec = opts.timeoutSec ?? 2;
  const retries = opts.retries ?? 1;
  const args = ['-x', '-t', String(timeoutSec), '-r', String(retries), opts.server, opts.code ?? 'auth', opts.secret];
  // Guard against a hung radclient: it should be done after timeoutSec * retries (+ margin).
  const guardMs = Math.ceil((timeoutSec * Math.max(retries, 1) + 5) * 1000);

  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    const guard = setTimeout(() => child.kill('SIGKILL'), guardMs);
    child.once('error', (err) => {
      clearTimeout(guard);
      reject(err);
    });
    child.once('close', (code, signal) => {
      clearTimeout(guard);
      const replyCode = /^Received (\S+) Id /m.exec(stdout)?.[1];
      const exit = code ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0);
      resolve(replyCode === undefined ? { code: exit, stdout, stderr } : { code: exit, stdout, stderr, replyCode });
    });
    child.stdin.on('error', () => {
      // radclient may exit before reading stdin (bad arguments); the exit code tells.
    });
    child.stdin.end(opts.attrs.endsWith('\n') ? opts.attrs : `${opts.attrs}\n`);
  });
}

/** The attribute lines of the (first) answer radclient printed, e.g. ['Reply-Message = "hi"']. */
export function replyAttributes(stdout: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith('Received '));
  if (start < 0) return [];
  const out: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!line.startsWith('\t')) break;
    out.push(line.trim());
  }
  return out;
}
