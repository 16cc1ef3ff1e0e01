// The dashboard chart's query (countLoginDecisions, app/db/queries/audit.ts) on a large audit log:
// a store of N records spread over the last week (default 6,048,000: a week at 10 records a
// second), 85 % of them logins, then each chart range timed through the real AuditStore, and the
// same counts read through the plain time index for comparison. A report, never an assertion.
//
//   node --import tsx bench/audit-chart.ts [N] [DIR]
//
// DIR (default .tmp/bench-audit-chart) keeps the store: a second run with the same N reuses it.
// The records are written straight into audit_log (random hashes, no chain): building a chain of
// six million keyed hashes would only make the setup slower.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, DB_FILE, type Store } from '../app/db/open.js';
import { createAuditStore } from '../app/db/queries/audit.js';

const N = Number(process.argv[2] ?? 6_048_000);
const dir = process.argv[3] ?? join(fileURLToPath(new URL('..', import.meta.url)), '.tmp', 'bench-audit-chart');
const WEEK = 7 * 24 * 3_600_000;
const RANGES = [
  ['hour', 5 * 60_000, 12],
  ['day', 3_600_000, 24],
  ['week', 6 * 3_600_000, 28],
] as const;

mkdirSync(dir, { recursive: true });
let store = openStore(dir);
const have = store.sqlite.prepare('SELECT count(*) FROM audit_log').pluck().get() as number;
if (have !== N) {
  store.close();
  for (const f of [DB_FILE, `${DB_FILE}-wal`, `${DB_FILE}-shm`]) rmSync(join(dir, f), { force: true });
  store = openStore(dir);
  fill(store.sqlite, N);
}
const sqlite = store.sqlite;
sqlite.pragma('wal_checkpoint(TRUNCATE)');
console.log(`${N.toLocaleString('en')} records, ${(statSync(join(dir, DB_FILE)).size / 1e9).toFixed(2)} GB, ${sqlite.prepare('SELECT sqlite_version()').pluck().get() as string}`);

const audit = createAuditStore(store, { genesis: '0'.repeat(64), link: () => '0'.repeat(64) });
const last = sqlite.prepare('SELECT max(time) FROM audit_log').pluck().get() as number;
// The plain alternative: the time index, then every row of the range for its event, outcome and reason.
const plain = sqlite.prepare(
  `SELECT outcome, reason, count(*) AS n FROM audit_log INDEXED BY audit_log_time
   WHERE time >= ? AND time < ? AND event IN ('radius.auth', 'windows.auth') GROUP BY CAST((time - ?) / ? AS INTEGER), outcome, reason`,
);
for (const [name, bucket, n] of RANGES) {
  const until = Math.floor(last / bucket) * bucket + bucket;
  const since = until - n * bucket;
  const times: number[] = [];
  let total = 0;
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const rows = await audit.countLoginDecisions(since, until, bucket);
    times.push(performance.now() - t0);
    total = rows.reduce((s, r) => s + r.count, 0);
  }
  const t0 = performance.now();
  const plainRows = plain.all(since, until, since, bucket) as { n: number }[];
  const plainMs = performance.now() - t0;
  const plainTotal = plainRows.reduce((s, r) => s + r.n, 0);
  console.log(
    `${name.padEnd(5)} ${total.toLocaleString('en').padStart(10)} logins: countLoginDecisions ${times.map((t) => `${t.toFixed(0)} ms`).join(', ')}; through audit_log_time ${plainMs.toFixed(0)} ms${plainTotal === total ? '' : ` (counted ${plainTotal}: differs!)`}`,
  );
}
store.close();

function fill(sqlite: Store['sqlite'], count: number): void {
  const now = Date.now();
  const insert = sqlite.prepare('INSERT INTO audit_log (id, time, event, outcome, username, reason, source, client, actor, details, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)');
  const rejects = ['downstream_reject', 'downstream_reject', 'downstream_reject', 'push_denied', 'push_expired', 'totp_wrong', 'locked', 'unenrolled', 'push_limited'];
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const hash = randomBytes(32).toString('hex');
  const batch = sqlite.transaction((from: number, to: number) => {
    for (let i = from; i < to; i++) {
      const time = now - WEEK + Math.floor((i / count) * WEEK);
      const r = rnd();
      let event = 'radius.auth';
      let outcome = 'ok';
      let reason: string | null = null;
      if (r < 0.05) event = 'admin.signin';
      else if (r < 0.07) [event, outcome, reason] = ['radius.drop', 'drop', 'unknown_client'];
      else {
        if (r < 0.17) event = 'windows.auth';
        const o = rnd();
        if (o < 0.7) [outcome, reason] = ['accept', rnd() < 0.5 ? 'push_approved' : 'totp_ok'];
        else if (o < 0.92) [outcome, reason] = ['reject', rejects[Math.floor(rnd() * rejects.length)]!];
        else [outcome, reason] = ['challenge', 'totp_challenge'];
      }
      insert.run(i + 1, time, event, outcome, `user${i % 5000}`, reason, `192.0.2.${i % 250}:${40000 + (i % 20000)}`, 'vpn', null, `{"factor":"push","nasIdentifier":"vpn-1","packetId":${i % 256}}`, hash, hash);
    }
  });
  const t0 = Date.now();
  for (let i = 0; i < count; i += 100_000) batch(i, Math.min(count, i + 100_000));
  console.log(`wrote ${count.toLocaleString('en')} records in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}
