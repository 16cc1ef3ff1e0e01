/**
 * A wrapper around wpa_supplicant's `eapol_test` (Debian package eapoltest) for tests: one complete
 * EAP authentication (PEAP/EAP-MSCHAPv2 or EAP-TTLS/PAP) against a RADIUS server, acting as the
 * supplicant and the NAS at once.
 *
 * runEapol() writes a wpa_supplicant network block to a temporary file, runs
 * `eapol_test -c CONF -a HOST -p PORT -s SECRET -t TIMEOUT` via spawn (no shell), and parses its
 * (debug-level, the default) output. Facts about eapol_test this relies on:
 * - It prints "SUCCESS" as its last line and exits 0 only when EAP succeeded AND the MPPE keys in
 *   the Access-Accept match the keys it derived itself ("MPPE keys OK: 1  mismatch: 0"); otherwise
 *   "FAILURE" and a non-zero exit (252 = -4 after a reject). `-n` would mean "no MPPE keys
 *   expected"; it is not used, so a success proves MS-MPPE-Send-Key / MS-MPPE-Recv-Key are right.
 * - Every RADIUS message it sends or receives is dumped as "RADIUS message: code=2 (Access-Accept)
 *   identifier=8 length=167" followed by "   Attribute 1 (User-Name) length=7" / "      Value:
 *   'alice'" pairs (text in quotes, printf-escaped; everything else as hex).
 * - The decrypted keys are printed as "MS-MPPE-Send-Key (sign) - hexdump(len=32): 6d 4e ...".
 * - `-a` takes an IPv6 literal as is (`-a ::1`, no brackets).
 * - Strings in the network block are written as unquoted hex, which wpa_supplicant accepts for
 *   identity, anonymous_identity, password and ca_cert: no quoting problem with any character.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findTool, requireTool } from './freeradius.js';

export type EapMethod = 'peap-mschapv2' | 'ttls-pap';

export interface EapolOptions {
  /** RADIUS server address: an IPv4 or IPv6 literal (e.g. '127.0.0.1', '::1'). */
  host: string;
  port: number;
  secret: string;
  method: EapMethod;
  /** The inner (real) identity, sent inside the TLS tunnel. */
  identity: string;
  /** The outer identity in EAP-Identity and User-Name. Default: the same as identity. */
  anonymousIdentity?: string;
  password: string;
  /** PEM file of the CA that must have signed the server certificate (wpa_supplicant ca_cert). */
  caCert: string;
  /** eapol_test's overall timeout (-t). Default 10. */
  timeoutSeconds?: number;
  /** Sent as NAS-Port (attribute 5) in every Access-Request. */
  nasPort?: number;
  /** Calling-Station-Id as a MAC address (-M), e.g. '02:00:00:00:00:01' (eapol_test's default). */
  callingStationMac?: string;
  /** Further attributes as eapol_test -N specs, `attr_id:syntax:value` (syntax s, d or x), e.g. '30:s:ssid'. */
  extraAttributes?: string[];
}

export interface EapolAttribute {
  type: number;
  /** eapol_test's name for it, e.g. 'User-Name', 'Vendor-Specific', '?Unknown?'. */
  name: string;
  /** Text attributes as text (printf escapes decoded), everything else as lowercase hex. */
  value: string;
}

export interface EapolMessage {
  /** e.g. 'Access-Accept' */
  code: string;
  attributes: EapolAttribute[];
}

export interface EapolResult {
  /** eapol_test printed SUCCESS and exited 0 (EAP success and matching MPPE keys). */
  ok: boolean;
  /** eapol_test's exit code (128 + signal number if it was killed). */
  code: number;
  /** Everything eapol_test printed (stdout and stderr, interleaved). */
  stdout: string;
  /** The "MPPE keys OK: 1  mismatch: 0" line said so. */
  mppeKeysOk: boolean;
  /** Decrypted MS-MPPE-Send-Key / MS-MPPE-Recv-Key of the Access-Accept, as lowercase hex. */
  mppeSendKey?: string;
  mppeRecvKey?: string;
  /** Every Access-Request eapol_test sent, in order (User-Name is the outer identity). */
  sent: EapolMessage[];
  /** Every RADIUS message eapol_test received, in order (Access-Challenges, then the final answer). */
  received: EapolMessage[];
  /** The last received message (usually Access-Accept or Access-Reject); undefined without answer. */
  final?: EapolMessage;
  /** User-Name of the final message, when it had exactly one. */
  finalUserName?: string;
}

const SIGNALS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex');

function networkBlock(o: EapolOptions): string {
  for (const [what, value] of [['identity', o.identity], ['password', o.password], ['anonymousIdentity', o.anonymousIdentity]] as const) {
    // wpa_supplicant reads an empty unquoted value as "no value", not as an empty string.
    if (value === '') throw new Error(`eapol helper: ${what} must not be empty`);
  }
  const [eap, phase2] = o.method === 'peap-mschapv2' ? ['PEAP', 'auth=MSCHAPV2'] : ['TTLS', 'auth=PAP'];
  const lines = [
    'network={',
    '\tkey_mgmt=IEEE8021X',
    `\teap=${eap}`,
    `\tidentity=${hex(o.identity)}`,
    ...(o.anonymousIdentity === undefined ? [] : [`\tanonymous_identity=${hex(o.anonymousIdentity)}`]),
    `\tpassword=${hex(o.password)}`,
    `\tca_cert=${hex(o.caCert)}`,
    `\tphase2="${phase2}"`,
    // No EAPOL-Key frames (there is no real link): keys are only compared with the RADIUS ones.
    '\teapol_flags=0',
    '}',
    '',
  ];
  return lines.join('\n');
}

/** Undo hostap's printf_encode: \\, \", \e, \n, \r, \t and \xHH. */
function printfDecode(s: string): string {
  const bytes: number[] = [];
  const simple: Record<string, number> = { '\\': 0x5c, '"': 0x22, e: 0x1b, n: 0x0a, r: 0x0d, t: 0x09 };
  for (let i = 0; i < s.length; i++) {
    const c = s[i] as string;
    if (c === '\\' && i + 1 < s.length) {
      const next = s[i + 1] as string;
      if (next === 'x' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 2, i + 4))) {
        bytes.push(parseInt(s.slice(i + 2, i + 4), 16));
        i += 3;
        continue;
      }
      const b = simple[next];
      if (b !== undefined) {
        bytes.push(b);
        i += 1;
        continue;
      }
    }
    bytes.push(...Buffer.from(c, 'utf8')); // printf_encode output is ASCII
  }
  return Buffer.from(bytes).toString('utf8');
}

/** Every RADIUS message eapol_test dumped, sent and received, in order. */
export function parseRadiusMessages(output: string): EapolMessage[] {
  const out: EapolMessage[] = [];
  let current: EapolMessage | undefined;
  let last: EapolAttribute | undefined;
  for (const line of output.split('\n')) {
    const header = /^RADIUS message: code=\d+ \(([^)]+)\)/.exec(line);
    if (header) {
      current = { code: header[1] as string, attributes: [] };
      out.push(current);
      last = undefined;
      continue;
    }
    if (!current) continue;
    const attr = /^ {3}Attribute (\d+) \((.*)\) length=\d+$/.exec(line);
    if (attr) {
      last = { type: Number(attr[1]), name: attr[2] as string, value: '' };
      current.attributes.push(last);
      continue;
    }
    const value = /^ {6}Value: (.*)$/.exec(line);
    if (value && last) {
      const v = value[1] as string;
      last.value = v.startsWith("'") && v.endsWith("'") && v.length >= 2 ? printfDecode(v.slice(1, -1)) : v.toLowerCase();
      continue;
    }
    // Anything else ends the dump of this message.
    current = undefined;
    last = undefined;
  }
  return out;
}

function hexdump(output: string, label: string): string | undefined {
  const re = new RegExp(`^${label} - hexdump\\(len=\\d+\\):((?: [0-9a-f]{2})+)`, 'm');
  return re.exec(output)?.[1]?.replace(/ /g, '');
}

export async function runEapol(opts: EapolOptions): Promise<EapolResult> {
  requireTool('eapol_test', 'eapoltest');
  const binary = findTool('eapol_test') as string;
  if (isIP(opts.host) === 0) throw new Error(`eapol helper: host must be an IP literal: ${JSON.stringify(opts.host)}`);
  const timeout = opts.timeoutSeconds ?? 10;
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-eapol-'));
  try {
    const conf = join(dir, 'eapol.conf');
    await writeFile(conf, networkBlock(opts), { mode: 0o600 });
    const args = ['-c', conf, '-a', opts.host, '-p', String(opts.port), '-s', opts.secret, '-t', String(timeout)];
    if (opts.callingStationMac !== undefined) args.push(`-M${opts.callingStationMac}`);
    if (opts.nasPort !== undefined) args.push(`-N5:d:${opts.nasPort}`);
    for (const spec of opts.extraAttributes ?? []) args.push(`-N${spec}`);

    const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
      const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.setEncoding('utf8').on('data', (s: string) => (output += s));
      child.stderr.setEncoding('utf8').on('data', (s: string) => (output += s));
      // eapol_test enforces -t itself; this only guards against a hung process.
      const guard = setTimeout(() => child.kill('SIGKILL'), (timeout + 5) * 1000);
      child.once('error', (err) => {
        clearTimeout(guard);
        reject(err);
      });
      child.once('close', (exit, signal) => {
        clearTimeout(guard);
        resolve({ code: exit ?? 128 + (signal ? (SIGNALS[signal] ?? 0) : 0), output });
      });
    });

    const messages = parseRadiusMessages(output);
    const sent = messages.filter((m) => m.code === 'Access-Request');
    const received = messages.filter((m) => m.code !== 'Access-Request');
    const final = received.at(-1);
    const names = final?.attributes.filter((a) => a.type === 1) ?? [];
    const mppeSendKey = hexdump(output, 'MS-MPPE-Send-Key \\(sign\\)');
    const mppeRecvKey = hexdump(output, 'MS-MPPE-Recv-Key \\(crypt\\)');
    return {
      ok: code === 0 && /^SUCCESS$/m.test(output),
      code,
      stdout: output,
      mppeKeysOk: /^MPPE keys OK: 1 +mismatch: 0$/m.test(output),
      ...(mppeSendKey === undefined ? {} : { mppeSendKey }),
      ...(mppeRecvKey === undefined ? {} : { mppeRecvKey }),
      sent,
      received,
      ...(final === undefined ? {} : { final }),
      ...(names.length === 1 ? { finalUserName: (names[0] as EapolAttribute).value } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
