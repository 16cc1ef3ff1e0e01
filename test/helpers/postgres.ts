// A real PostgreSQL (Debian's `postgresql`) for tests: a private cluster in a temporary directory,
// on a loopback port, run in the foreground by the test and removed after. PostgreSQL refuses to
// run as root, so as root the cluster belongs to the `postgres` user the package creates (its
// directory must be reachable by that user: the temporary directory is made 0755 under /tmp).
// A streaming standby of it can be started for fail-over tests (pg_basebackup -R, pg_ctl promote).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freeTcpPort } from './appliance.js';
import { findTool } from './freeradius.js';

export const PG_PASSWORD = 'pg-test-superuser-pw';

export interface Postgres {
  port: number;
  /** The superuser's URL for a database (default `postgres`). */
  url(database?: string): string;
  /** Create an empty database owned by the superuser; its URL. */
  createDatabase(name: string): Promise<string>;
  /** Run SQL as the superuser in a database. */
  query(sql: string, database?: string): Promise<pg.QueryResult>;
  /** Stop the server (fast shutdown) and keep its files; `start` runs it again on the same port. */
  halt(): Promise<void>;
  start(): Promise<void>;
  /** A streaming standby of this server on another port (`promote` makes it a primary). */
  standby(): Promise<Standby>;
  /** Stop and remove everything. */
  stop(): Promise<void>;
  /** With `tls`: the server's certificate (self-signed: its own CA), to give as --database-ca. */
  caFile?: string;
}

export interface Standby extends Omit<Postgres, 'standby' | 'createDatabase'> {
  promote(): Promise<void>;
}

/** Debian's PostgreSQL binaries (not on PATH): the newest installed major version. */
export function postgresBin(tool: string): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', tool))).sort((a, b) => Number(b) - Number(a)) : [];
  if (versions.length === 0) throw new Error(`PostgreSQL's ${tool} not found: install the Debian package postgresql (apt-get install postgresql)`);
  return join(root, versions[0]!, 'bin', tool);
}

const asRoot = userInfo().uid === 0;

function postgresUser(): { uid: number; gid: number } {
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error('no postgres user: install the Debian package postgresql (it creates the user PostgreSQL runs as)');
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

/** Run a PostgreSQL tool as the cluster's owner. */
function run(tool: string, args: string[], what: string): void {
  const cmd = asRoot ? ['runuser', '-u', 'postgres', '--', postgresBin(tool), ...args] : [postgresBin(tool), ...args];
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${what} failed (${r.status}): ${(r.stderr || r.stdout).slice(-800)}`);
}

class Server {
  child: ChildProcess | undefined;
  log = '';
  constructor(
    readonly dir: string,
    readonly data: string,
    readonly port: number,
  ) {}

  url(database = 'postgres'): string {
    return `postgresql://postgres:${PG_PASSWORD}@127.0.0.1:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    const args = ['-D', this.data, '-p', String(this.port), '-k', this.dir, '-c', 'listen_addresses=127.0.0.1'];
    const cmd = asRoot ? ['runuser', '-u', 'postgres', '--', postgresBin('postgres'), ...args] : [postgresBin('postgres'), ...args];
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    child.stderr!.on('data', (d: Buffer) => (this.log = (this.log + d.toString()).slice(-4000)));
    for (let tries = 0; ; tries++) {
      if (child.exitCode !== null) throw new Error(`postgres exited (${child.exitCode}): ${this.log}`);
      const c = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
      try {
        await c.connect();
        await c.query('SELECT 1');
        await c.end();
        return;
      } catch (e) {
        await c.end().catch(() => {});
        if (tries > 150) throw new Error(`postgres did not answer on port ${this.port}: ${(e as Error).message} ${this.log}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async halt(): Promise<void> {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    // SIGINT to the postmaster (runuser does not pass signals on): fast shutdown, clients are
    // disconnected and nothing committed is lost.
    const pid = Number(readFileSync(join(this.data, 'postmaster.pid'), 'utf8').split('\n')[0]);
    process.kill(pid, 'SIGINT');
    await new Promise((r) => child.once('exit', r));
  }

  async query(sql: string, database?: string): Promise<pg.QueryResult> {
    const c = new pg.Client({ connectionString: this.url(database) });
    await c.connect();
    try {
      return await c.query(sql);
    } finally {
      await c.end();
    }
  }

  async remove(): Promise<void> {
    await this.halt();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function clusterDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  if (asRoot) {
    const { uid, gid } = postgresUser();
    chmodSync(dir, 0o755);
    chownSync(dir, uid, gid);
  }
  return dir;
}

/**
 * Start a fresh PostgreSQL cluster (superuser `postgres`, password PG_PASSWORD, scram-sha-256).
 * `durable`: commits reach the disk as in production (the benchmark); tests do without.
 * `tls`: TLS offered with a self-signed certificate for 127.0.0.1 and localhost (`caFile`).
 */
export async function startPostgres(opts: { durable?: boolean; tls?: boolean } = {}): Promise<Postgres> {
  postgresBin('postgres');
  const dir = clusterDir('gatehouse-pg-');
  const data = join(dir, 'data');
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${PG_PASSWORD}\n`);
  if (asRoot) chownSync(pwfile, postgresUser().uid, postgresUser().gid);
  run('initdb', ['-D', data, '-U', 'postgres', '-A', 'scram-sha-256', `--pwfile=${pwfile}`, '--no-sync', '-E', 'UTF8', '--locale=C.UTF-8'], 'initdb');
  // Tests do not need durability against power loss; replication for the standby.
  writeFileSync(
    join(data, 'postgresql.auto.conf'),
    [...(opts.durable === true ? [] : ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off']), 'wal_level = replica', 'max_wal_senders = 4', ...(opts.tls === true ? ['ssl = on', "ssl_cert_file = 'server.crt'", "ssl_key_file = 'server.key'"] : []), ''].join('\n'),
  );
  if (opts.tls === true) {
    const openssl = findTool('openssl');
    if (openssl === undefined) throw new Error('openssl not found: install the Debian package openssl');
    const made = spawnSync(openssl, ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', join(data, 'server.key'), '-out', join(data, 'server.crt')], { encoding: 'utf8' });
    if (made.status !== 0) throw new Error(`openssl could not make the PostgreSQL test certificate: ${made.stderr}`);
    chmodSync(join(data, 'server.key'), 0o600);
    if (asRoot) for (const f of ['server.key', 'server.crt']) chownSync(join(data, f), postgresUser().uid, postgresUser().gid);
  }
  writeFileSync(join(data, 'pg_hba.conf'), ['local all all scram-sha-256', 'host all all 127.0.0.1/32 scram-sha-256', 'host replication all 127.0.0.1/32 scram-sha-256', ''].join('\n'));
  const server = new Server(dir, data, await freeTcpPort());
  await server.start();
  const standbys: Server[] = [];
  return {
    port: server.port,
    ...(opts.tls === true ? { caFile: join(data, 'server.crt') } : {}),
    url: (db) => server.url(db),
    async createDatabase(name) {
      await server.query(`CREATE DATABASE "${name}"`);
      return server.url(name);
    },
    query: (sql, db) => server.query(sql, db),
    halt: () => server.halt(),
    start: () => server.start(),
    async standby() {
      const sdir = clusterDir('gatehouse-pg-standby-');
      const sdata = join(sdir, 'data');
      const passfile = join(sdir, 'pgpass');
      writeFileSync(passfile, `127.0.0.1:${server.port}:*:postgres:${PG_PASSWORD}\n`, { mode: 0o600 });
      if (asRoot) chownSync(passfile, postgresUser().uid, postgresUser().gid);
      const env = { ...process.env, PGPASSFILE: passfile };
      const cmd = [postgresBin('pg_basebackup'), '-h', '127.0.0.1', '-p', String(server.port), '-U', 'postgres', '-D', sdata, '-R', '-X', 'stream', '--no-sync', '--checkpoint=fast'];
      const r = spawnSync(asRoot ? 'runuser' : cmd[0]!, asRoot ? ['-u', 'postgres', '--', ...cmd] : cmd.slice(1), { encoding: 'utf8', env });
      if (r.status !== 0) throw new Error(`pg_basebackup failed: ${r.stderr.slice(-800)}`);
      // -R wrote primary_conninfo with the passfile's path; keep the password in it instead.
      writeFileSync(join(sdata, 'postgresql.auto.conf'), ['fsync = off', 'synchronous_commit = off', 'full_page_writes = off', 'wal_level = replica', 'max_wal_senders = 4', `primary_conninfo = 'host=127.0.0.1 port=${server.port} user=postgres password=${PG_PASSWORD}'`, ''].join('\n'));
      const standby = new Server(sdir, sdata, await freeTcpPort());
      standbys.push(standby);
      await standby.start();
      return {
        port: standby.port,
        url: (db) => standby.url(db),
        query: (sql, db) => standby.query(sql, db),
        halt: () => standby.halt(),
        start: () => standby.start(),
        async promote() {
          run('pg_ctl', ['promote', '-w', '-D', sdata], 'pg_ctl promote');
        },
        stop: () => standby.remove(),
      };
    },
    async stop() {
      for (const s of standbys) await s.remove();
      await server.remove();
    },
  };
}
