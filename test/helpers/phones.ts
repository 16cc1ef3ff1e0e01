// A fleet of phones for Gatehouse's own push service (the pending-approvals benchmark, the cluster
// tests): users
// u0..u(n-1), each with one enrolled phone (seeded into the store before Gatehouse starts), that
// decide through the approver's HTTP API exactly as the web app does: list the requests (device
// cookie), ask for the passkey options of a decision, and send the signed decision. The passkey is
// a software one (an ES256 key here); its assertions are built from the WebAuthn data formats
// (authenticator data, client data JSON, a DER ECDSA signature over both) and Gatehouse verifies
// them with @simplewebauthn/server as it does a phone's. Everything up to the signature is done
// while the logins wait, so the decision phase is one POST per login.
import { createHash, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { isoCBOR } from '@simplewebauthn/server/helpers';
import { sql } from 'drizzle-orm';
import { openStore } from '../../app/db/open.js';
import type { Runner } from '../../app/db/store.js';
import { tokenHash } from '../../app/lib/tokens.js';

const b64u = (b: Buffer | Uint8Array) => Buffer.from(b).toString('base64url');

export interface PhoneFleet {
  /** Add the users and their phones to the store in DATA_DIR (before Gatehouse starts). */
  seed(dataDir: string): void;
  /** The same into any store (a cluster's PostgreSQL). */
  seedInto(store: Runner): Promise<void>;
  /** Fetch each phone's open request and sign its approval (not sent yet). Returns how many are ready. */
  prepare(base: string, origin: string, concurrency: number): Promise<number>;
  /** Send every prepared decision; `decidedAt[i]` is when phone i sent it (epoch ms). */
  decideAll(base: string, origin: string, concurrency: number): Promise<{ decidedAt: Float64Array; refused: number; roundTripMs: number[] }>;
}

export function createPhoneFleet(n: number): PhoneFleet {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  // The COSE key (RFC 9053: EC2, ES256, P-256) the store keeps, as a registration would leave it.
  const cose = Buffer.from(
    isoCBOR.encode(
      new Map<number, number | Uint8Array>([
        [1, 2],
        [3, -7],
        [-1, 1],
        [-2, Buffer.from(jwk.x!, 'base64url')],
        [-3, Buffer.from(jwk.y!, 'base64url')],
      ]),
    ),
  );
  const credentialId = (i: number) => b64u(Buffer.from(`bench-credential-${i}`));
  const deviceToken = (i: number) => `ghd_bench_phone_${i}`;
  const prepared: ({ id: string; body: string } | undefined)[] = new Array(n);

  // Each phone's signature counter, moved forward by every assertion (Gatehouse refuses one that is not).
  const counters = new Uint32Array(n);
  function assertion(i: number, key: KeyObject, rpId: string, origin: string, challenge: string): unknown {
    const counter = Buffer.alloc(4);
    counter.writeUInt32BE(++counters[i]!);
    const authData = Buffer.concat([createHash('sha256').update(rpId).digest(), Buffer.from([0x05]), counter]);
    const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin, crossOrigin: false }));
    const signature = sign('sha256', Buffer.concat([authData, createHash('sha256').update(clientData).digest()]), key);
    const id = credentialId(i);
    return { id, rawId: id, type: 'public-key', response: { clientDataJSON: b64u(clientData), authenticatorData: b64u(authData), signature: b64u(signature) }, clientExtensionResults: {}, authenticatorAttachment: 'platform' };
  }

  async function pool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < count) await work(next++);
      }),
    );
  }

  const headers = (i: number, origin: string) => ({ Cookie: `gh_device=${deviceToken(i)}`, Origin: origin, 'Content-Type': 'application/json' });

  return {
    seed(dataDir) {
      const store = openStore(dataDir);
      try {
        const ins = store.sqlite.prepare('INSERT INTO push_devices (user_id, name, credential_id, public_key, sign_count, transports, token_hash, created_at) VALUES (?, ?, ?, ?, 0, ?, ?, ?)');
        const user = store.sqlite.prepare<[string, string], { id: number }>('INSERT INTO users (username, search_text) VALUES (?, ?) RETURNING id');
        store.sqlite.transaction(() => {
          for (let i = 0; i < n; i++) ins.run(user.get(`u${i}`, `u${i}`)!.id, `phone ${i}`, credentialId(i), cose, 'internal', tokenHash(deviceToken(i)), Date.now());
        })();
      } finally {
        store.close();
      }
    },

    async seedInto(store) {
      for (let i = 0; i < n; i++) {
        const user = await store.get<{ id: number }>(sql`INSERT INTO users (username, search_text) VALUES (${`u${i}`}, ${`u${i}`}) RETURNING id`);
        await store.run(sql`INSERT INTO push_devices (user_id, name, credential_id, public_key, sign_count, transports, token_hash, created_at) VALUES (${user!.id}, ${`phone ${i}`}, ${credentialId(i)}, ${cose}, 0, ${'internal'}, ${tokenHash(deviceToken(i))}, ${Date.now()})`);
      }
    },

    async prepare(base, origin, concurrency) {
      const rpId = new URL(origin).hostname;
      let ready = 0;
      await pool(n, concurrency, async (i) => {
        const list = (await (await fetch(`${base}/approve/api/requests`, { headers: headers(i, origin) })).json()) as { requests?: { id: string }[] };
        const id = list.requests?.[0]?.id;
        if (id === undefined) return;
        const res = await fetch(`${base}/approve/api/requests/${id}/options`, { method: 'POST', headers: headers(i, origin), body: '{"decision":"approve"}' });
        const options = (await res.json()) as { challenge?: string };
        if (options.challenge === undefined) return;
        prepared[i] = { id, body: JSON.stringify({ decision: 'approve', response: assertion(i, privateKey, rpId, origin, options.challenge) }) };
        ready++;
      });
      return ready;
    },

    async decideAll(base, origin, concurrency) {
      const decidedAt = new Float64Array(n);
      const roundTripMs: number[] = [];
      let refused = 0;
      await pool(n, concurrency, async (i) => {
        const p = prepared[i];
        if (p === undefined) return;
        decidedAt[i] = Date.now();
        const t = performance.now();
        const res = await fetch(`${base}/approve/api/requests/${p.id}/decision`, { method: 'POST', headers: headers(i, origin), body: p.body });
        await res.arrayBuffer();
        roundTripMs.push(performance.now() - t);
        if (res.status !== 200) refused++;
      });
      return { decidedAt, refused, roundTripMs };
    },
  };
}

/**
 * A phone enrolling with a one-time link, as the web app does, with a software passkey (ES256):
 * passkey options from one appliance (`optionsBase`), the new passkey sent to another
 * (`finishBase`: in a cluster, any). The attestation is `none` with the authenticator data a
 * platform authenticator makes (user present and verified, attested credential data).
 */
export async function enrolSoftPhone(optionsBase: string, finishBase: string, origin: string, linkToken: string, name: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers = { Origin: origin, 'Content-Type': 'application/json' };
  const opt = await fetch(`${optionsBase}/approve/api/enrol/options`, { method: 'POST', headers, body: JSON.stringify({ token: linkToken }) });
  const got = (await opt.json()) as { options?: { challenge: string; rp: { id: string } }; error?: string };
  if (got.options === undefined) return { status: opt.status, body: got };
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = publicKey.export({ format: 'jwk' });
  const cose = Buffer.from(isoCBOR.encode(new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]])));
  const credentialId = Buffer.from(`soft-phone-${name}`);
  const idLength = Buffer.alloc(2);
  idLength.writeUInt16BE(credentialId.length);
  const authData = Buffer.concat([createHash('sha256').update(got.options.rp.id).digest(), Buffer.from([0x45]), Buffer.from([0, 0, 0, 0]), Buffer.alloc(16), idLength, credentialId, cose]);
  const clientData = Buffer.from(JSON.stringify({ type: 'webauthn.create', challenge: got.options.challenge, origin, crossOrigin: false }));
  const attestation = Buffer.from(isoCBOR.encode(new Map<string, unknown>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]) as never));
  const response = { id: b64u(credentialId), rawId: b64u(credentialId), type: 'public-key', response: { clientDataJSON: b64u(clientData), attestationObject: b64u(attestation), transports: ['internal'] }, clientExtensionResults: {}, authenticatorAttachment: 'platform' };
  const fin = await fetch(`${finishBase}/approve/api/enrol`, { method: 'POST', headers, body: JSON.stringify({ token: linkToken, name, response }) });
  return { status: fin.status, body: (await fin.json()) as Record<string, unknown> };
}
