/// <reference types="node" />
// A throwaway PostgreSQL cluster for the tests and benchmarks: Debian's
// server binaries (build/setup.sh primary installs them), initdb into a temp
// dir, listening only on a unix socket in that dir (no TCP at all), owned by
// the `postgres` user when we run as root (the server refuses to run as
// root). One cluster per process, started on first use, stopped (immediate)
// when the process exits. Each caller gets its own new database in it.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface Cluster {
  /** Directory holding the socket. */
  readonly socketDir: string;
  readonly port: number;
  /** URL of a new, empty database. */
  newDatabase(name?: string): Promise<string>;
}

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base) ? readdirSync(base).filter((v) => existsSync(join(base, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql: run build/setup.sh primary');
  versions.sort((a, b) => Number(b) - Number(a));
  return join(base, versions[0]!, 'bin');
}

let started: Promise<Cluster> | null = null;
let counter = 0;

/** Runs a server binary as the unprivileged owner of the cluster. */
function asOwner(cmd: string, args: string[], root: boolean): void {
  const [file, argv] = root ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  execFileSync(file, argv, { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60000 });
}

/**
 * The process's cluster. `durable`: fsync as in production (benchmarks); the
 * tests run without (a killed primary instance is a client of the server, and
 * the server itself is never killed).
 */
export function cluster(o: { durable?: boolean } = {}): Promise<Cluster> {
  started ??= (async () => {
    const bin = binDir();
    const root = process.getuid?.() === 0;
    const dir = mkdtempSync(join(tmpdir(), 'pdmv2-pg-'));
    const data = join(dir, 'data');
    if (root) {
      const { uid, gid } = (() => {
        const out = execFileSync('id', ['-u', 'postgres']).toString().trim();
        const g = execFileSync('id', ['-g', 'postgres']).toString().trim();
        return { uid: Number(out), gid: Number(g) };
      })();
      chownSync(dir, uid, gid);
    }
    chmodSync(dir, 0o700);
    const port = 20000 + (process.pid % 20000);
    asOwner(join(bin, 'initdb'), ['-D', data, '-U', 'pdmv2', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'], root);
    asOwner(
      join(bin, 'pg_ctl'),
      [
        '-D',
        data,
        '-w',
        '-l',
        join(dir, 'server.log'),
        '-o',
        `-c listen_addresses='' -c unix_socket_directories=${dir} -p ${port} -c max_connections=200${o.durable ? '' : ' -c fsync=off -c synchronous_commit=off -c full_page_writes=off'}`,
        'start',
      ],
      root,
    );
    process.once('exit', () => {
      try {
        asOwner(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', 'stop'], root);
      } catch {
        /* already gone */
      }
      rmSync(dir, { recursive: true, force: true });
    });
    const admin = `postgresql://pdmv2@${encodeURIComponent(dir)}:${port}/postgres`;
    return {
      socketDir: dir,
      port,
      async newDatabase(name?: string): Promise<string> {
        const db = `${(name ?? 'test').replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${process.pid}_${++counter}`;
        const c = new pg.Client({ connectionString: admin });
        await c.connect();
        try {
          await c.query(`CREATE DATABASE ${db}`);
        } finally {
          await c.end();
        }
        return `postgresql://pdmv2@${encodeURIComponent(dir)}:${port}/${db}`;
      },
    };
  })();
  return started;
}
