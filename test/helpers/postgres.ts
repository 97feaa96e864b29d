import { execFile, execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

/** Debian's PostgreSQL 15 binaries (package `postgresql`); not on PATH there. */
export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** `BRIDGE_REQUIRE_POSTGRES=1` (set by `.ci/run`) turns "cannot start PostgreSQL" into a failure instead of a skip. */
export const REQUIRE_POSTGRES = process.env.BRIDGE_REQUIRE_POSTGRES === '1';

const run = promisify(execFile);

/** A throwaway PostgreSQL cluster on 127.0.0.1, removed by `stop()`. */
export interface PgCluster {
  port: number;
  /** `postgres://postgres@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  url: string;
  /** Stops the server and restarts it on the same port and data (`pg_ctl restart`). */
  restart(): Promise<void>;
  /** Stops the server (`pg_ctl stop -m fast`), keeping its data; `startAgain()` brings it back on the same port. */
  stopServer(): Promise<void>;
  startAgain(): Promise<void>;
  /** Stops the server (`-m immediate`) and removes its directory. */
  stop(): Promise<void>;
  /** A fresh schema name for one test's store (`BRIDGE_DATABASE_SCHEMA`). */
  freshSchema(): string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a PostgreSQL 15 cluster in a temp directory: `initdb` and `pg_ctl` as the `postgres` user
 * when running as root (initdb refuses root), the socket in that directory (`-k`), listening on
 * 127.0.0.1 only on a free port. `fsync=off`: the tests kill processes, never the machine, and the
 * machine is shared.
 * @throws Error saying why when the binaries are missing or the server does not start.
 */
export async function startPostgres(): Promise<PgCluster> {
  if (!existsSync(join(PG_BIN, 'initdb'))) throw new Error(`${PG_BIN}/initdb is missing: apt-get install postgresql`);
  const asRoot = process.getuid?.() === 0;
  const dir = await mkdtemp(join(tmpdir(), 'bridge-pg-'));
  const as = (cmd: string, args: string[]) =>
    asRoot ? run('runuser', ['-u', 'postgres', '--', join(PG_BIN, cmd), ...args]) : run(join(PG_BIN, cmd), args);
  try {
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
      await chown(dir, uid, gid);
    }
    const data = join(dir, 'data');
    await as('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync']);
    const port = await freePort();
    const opts = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off -c max_connections=200`;
    const ctl = (action: string, ...extra: string[]) =>
      as('pg_ctl', ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', '-o', opts, ...extra, action]);
    await ctl('start');
    const stopNow = () => {
      try {
        execFileSync(
          asRoot ? 'runuser' : join(PG_BIN, 'pg_ctl'),
          [...(asRoot ? ['-u', 'postgres', '--', join(PG_BIN, 'pg_ctl')] : []), '-D', data, '-m', 'immediate', 'stop'],
          { stdio: 'ignore' },
        );
      } catch {
        // already stopped
      }
    };
    // A test run that dies without its afterAll must not leave a server behind.
    process.once('exit', stopNow);
    let n = 0;
    return {
      port,
      url: `postgres://postgres@127.0.0.1:${port}/postgres`,
      restart: async () => {
        await ctl('restart', '-m', 'fast');
      },
      stopServer: async () => {
        await ctl('stop', '-m', 'fast');
      },
      startAgain: async () => {
        await ctl('start');
      },
      stop: async () => {
        process.removeListener('exit', stopNow);
        stopNow();
        await rm(dir, { recursive: true, force: true });
      },
      freshSchema: () => `t_${process.pid}_${Date.now().toString(36)}_${n++}`,
    };
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    const stderr = (err as { stderr?: string }).stderr;
    throw new Error(`PostgreSQL did not start: ${stderr?.trim() || (err as Error).message}`, { cause: err });
  }
}

/**
 * The cluster for a test file, or null (with a warning naming the reason) when it cannot start and
 * `BRIDGE_REQUIRE_POSTGRES` is not set. Call at the top level of the test file and `describe.skipIf(!pg)`.
 * @throws when it cannot start and `BRIDGE_REQUIRE_POSTGRES=1`.
 */
export async function postgresOrSkip(file: string): Promise<PgCluster | null> {
  try {
    return await startPostgres();
  } catch (err) {
    const reason = (err as Error).message;
    if (REQUIRE_POSTGRES) throw new Error(`${reason} (and BRIDGE_REQUIRE_POSTGRES=1)`, { cause: err });
    console.warn(`${file} skipped: ${reason} (BRIDGE_REQUIRE_POSTGRES=1 makes this a failure)`);
    return null;
  }
}

/** Runs one SQL statement on the cluster (test setup and inspection). */
export async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  values: unknown[] = [],
): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text, values)).rows;
  } finally {
    await client.end();
  }
}
