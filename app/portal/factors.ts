// The first and second factor of the self-service portal (/my): the password checked by the
// directory when one is configured, else by the downstream RADIUS server (an Access-Request
// with PAP, as a NAS would send); a TOTP code checked by the same factor as at every door.
import type { Settings } from '../config.js';
import type { DirectoryState } from '../directory/settings.js';
import { codeEquals } from '../mfa/otp.js';
import type { Engine } from '../mfa/engine.js';
import type { TotpFactor } from '../mfa/totp.js';
import { Attr, Code, textAttributes } from '../radius/codec.js';
import { hidePassword } from '../radius/crypto.js';
import { DownstreamError, type DownstreamLeg, type DownstreamTarget } from '../radius/downstream.js';
import type { PortalDeps } from '../routes/portal.js';

/** Failures of the directory that are not the person's (the page says "try again later"). */
const UNAVAILABLE = new Set(['unreachable', 'timeout', 'tls', 'error']);

export function createPortalFactors(d: {
  directory(): DirectoryState;
  downstream(): DownstreamTarget | undefined;
  leg: DownstreamLeg;
  totp: TotpFactor;
  engine: Pick<Engine, 'subject' | 'decide' | 'pushable'>;
  settings(): Readonly<Settings>;
  random(size: number): Buffer;
}): PortalDeps {
  return {
    how: () => (d.directory().ok ? 'directory' : d.downstream() !== undefined ? 'radius' : 'none'),
    async checkPassword(username, password) {
      const dir = d.directory();
      if (dir.ok) {
        const r = await dir.directory.checkPassword(username, password);
        return r.ok ? { ok: true } : { ok: false, reason: `directory_${r.reason}`, unavailable: UNAVAILABLE.has(r.reason) };
      }
      const target = d.downstream();
      if (target === undefined) return { ok: false, reason: 'no_first_factor', unavailable: true };
      const auth = d.random(16);
      const pw = Buffer.from(password, 'utf8');
      const attrs = [...textAttributes(Attr.UserName, username), { type: Attr.UserPassword, value: hidePassword(pw, target.secret, auth) }, ...textAttributes(Attr.NasIdentifier, 'gatehouse-self-service')];
      pw.fill(0);
      const s = d.settings();
      try {
        const answer = await d.leg.exchange(target, attrs, auth, { sendMs: s.proxySendTimeout * 1000, receiveMs: s.proxyReceiveTimeout * 1000 }).answer;
        if (answer.packet.code === Code.AccessAccept) return { ok: true };
        // A challenge (the server wants more than a password) cannot be answered here.
        return { ok: false, reason: answer.packet.code === Code.AccessChallenge ? 'downstream_challenge' : 'downstream_reject', unavailable: answer.packet.code === Code.AccessChallenge };
      } catch (e) {
        if (e instanceof DownstreamError) return { ok: false, reason: `downstream_${e.reason}`, unavailable: true };
        throw e;
      }
    },
    pushable: (username) => d.engine.pushable(username),
    async approve(username, source) {
      const subject = await d.engine.subject(username);
      if (!subject.ok) return { ok: false, reason: 'bad_user_name' };
      const v = await d.engine.decide({
        subject,
        pushOnly: true,
        origin: { door: 'portal', source, nas: 'self-service', station: '', firstFactor: '' },
        push: { title: 'Gatehouse self-service', description: 'Sign in to manage your sign-in methods as {0}?', fingerprint: 'self-service' },
        view: { client: 'self-service', station: undefined },
        audit: { source, client: null },
      });
      return v.kind === 'accept' ? { ok: true } : { ok: false, reason: v.reason };
    },
    async verifyCode(username, code) {
      if (!/^\d{6,8}$/.test(code)) return { ok: false, reason: 'totp_wrong', lockedNow: false };
      return d.totp.verify(username, codeEquals(code));
    },
  };
}
