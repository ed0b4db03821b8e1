/**
 * The primary's database: one SQLite file in WAL mode, versioned migrations
 * (PRAGMA user_version), each applied in its own transaction. The file and
 * its -wal/-shm companions hold secrets (pairing master secrets) and are
 * created 0600.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, existsSync, openSync } from 'node:fs';

export type Db = Database.Database;

/** Ordered migrations; index + 1 is the schema version. Never edit a released entry: append. */
export const MIGRATIONS: readonly string[] = [
  // 1: initial schema
  `
  CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );
  CREATE TABLE prefixes (
    prefix  TEXT NOT NULL,
    kind    TEXT NOT NULL CHECK (kind IN ('client', 'server')),
    created INTEGER NOT NULL,
    PRIMARY KEY (prefix, kind)
  );
  CREATE TABLE devices (
    id                 INTEGER PRIMARY KEY,
    pk                 BLOB NOT NULL UNIQUE,
    fingerprint        TEXT NOT NULL UNIQUE,
    role               TEXT NOT NULL CHECK (role IN ('client', 'server')),
    status             TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'revoked')),
    prefixes           TEXT NOT NULL DEFAULT '[]',
    requested_prefixes TEXT NOT NULL DEFAULT '[]',
    mode               TEXT NOT NULL DEFAULT 'encrypted',
    approved_via       TEXT,
    created            INTEGER NOT NULL,
    updated            INTEGER NOT NULL,
    last_seen          INTEGER,
    last_source        TEXT,
    last_status        TEXT,
    grants             INTEGER NOT NULL DEFAULT 0
  );
  CREATE INDEX devices_status ON devices (status);
  CREATE TABLE tokens (
    id       INTEGER PRIMARY KEY,
    digest   BLOB NOT NULL UNIQUE,
    label    TEXT NOT NULL DEFAULT '',
    role     TEXT NOT NULL CHECK (role IN ('client', 'server')),
    prefixes TEXT NOT NULL,
    mode     TEXT NOT NULL DEFAULT 'encrypted',
    created  INTEGER NOT NULL,
    expires  INTEGER NOT NULL,
    used_at  INTEGER,
    used_by  INTEGER REFERENCES devices (id)
  );
  CREATE TABLE nonces (
    pk      BLOB NOT NULL,
    nonce   BLOB NOT NULL,
    expires INTEGER NOT NULL,
    PRIMARY KEY (pk, nonce)
  ) WITHOUT ROWID;
  CREATE INDEX nonces_expires ON nonces (expires);
  CREATE TABLE pairings (
    id              TEXT PRIMARY KEY,
    role            TEXT NOT NULL CHECK (role IN ('client', 'server')),
    peer_pk         BLOB NOT NULL,
    peer_url        TEXT,
    pms             BLOB NOT NULL,
    suite           TEXT NOT NULL,
    data_aead       INTEGER NOT NULL,
    mode            TEXT NOT NULL,
    t0              INTEGER NOT NULL,
    period          INTEGER NOT NULL,
    overlap         INTEGER NOT NULL,
    client_prefixes TEXT NOT NULL,
    server_prefixes TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('active', 'revoked')),
    created         INTEGER NOT NULL,
    updated         INTEGER NOT NULL
  );
  CREATE UNIQUE INDEX pairings_active_peer ON pairings (peer_pk) WHERE status = 'active';
  CREATE TABLE pair_invites (
    peer_pk BLOB PRIMARY KEY,
    created INTEGER NOT NULL,
    expires INTEGER NOT NULL
  );
  CREATE TABLE pair_sessions (
    id      BLOB PRIMARY KEY,
    peer_pk BLOB NOT NULL,
    offer   BLOB NOT NULL,
    choice  BLOB NOT NULL,
    expires INTEGER NOT NULL
  );
  CREATE TABLE issued (
    device_id  INTEGER NOT NULL REFERENCES devices (id),
    pairing_id TEXT NOT NULL,
    generation INTEGER NOT NULL,
    prefix     TEXT NOT NULL,
    digest     BLOB NOT NULL,
    first_at   INTEGER NOT NULL,
    PRIMARY KEY (device_id, pairing_id, generation, prefix)
  ) WITHOUT ROWID;
  CREATE TABLE audit (
    id     INTEGER PRIMARY KEY,
    ts     INTEGER NOT NULL,
    event  TEXT NOT NULL,
    subject TEXT,
    detail TEXT
  );
  `,
  // 2: who created a pending device (per-source cap), and indexes for the retention passes
  `
  ALTER TABLE devices ADD COLUMN first_source TEXT;
  CREATE INDEX devices_pending_source ON devices (status, first_source);
  CREATE INDEX devices_status_updated ON devices (status, updated);
  CREATE INDEX tokens_used_by ON tokens (used_by);
  CREATE INDEX issued_pairing_generation ON issued (pairing_id, generation);
  CREATE INDEX audit_ts ON audit (ts);
  `,
];

export interface OpenOptions {
  /**
   * 'full' (default): every commit is on disk before the answer goes out, so
   * even a power cut cannot undo a revocation or a spent token. 'normal':
   * WAL without a sync per commit, still safe against process crashes
   * (kill -9), about 10% faster in the load benchmark.
   */
  readonly sync?: 'normal' | 'full';
  readonly readonly?: boolean;
  /**
   * How long one statement may block the process waiting for another
   * process's lock (default 5000 ms, for the CLI). The service uses a few
   * milliseconds and waits between attempts without blocking (sqlite-sql.ts).
   */
  readonly busyTimeoutMs?: number;
  /** Largest database, in pages of 4 KiB: a write beyond it fails with SQLITE_FULL as on a full disk. */
  readonly maxPages?: number;
}

export function openDb(path: string, opts: OpenOptions = {}): Db {
  if (path !== ':memory:' && !existsSync(path)) {
    // Create the file 0600 before SQLite does, so secrets never sit in a world-readable file.
    closeSync(openSync(path, 'wx', 0o600));
  }
  const db = new Database(path, { readonly: opts.readonly ?? false, fileMustExist: false });
  db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
  if (opts.maxPages !== undefined) db.pragma(`max_page_count = ${Math.floor(opts.maxPages)}`);
  if (!opts.readonly) {
    const mode = db.pragma('journal_mode = WAL', { simple: true });
    if (path !== ':memory:' && mode !== 'wal') throw new Error(`could not switch ${path} to WAL (got ${String(mode)})`);
    db.pragma(`synchronous = ${opts.sync === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    migrate(db);
    for (const suffix of ['-wal', '-shm']) {
      if (path !== ':memory:' && existsSync(path + suffix)) chmodSync(path + suffix, 0o600);
    }
  }
  return db;
}

export function schemaVersion(db: Db): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Db): void {
  const current = schemaVersion(db);
  if (current > MIGRATIONS.length) {
    throw new Error(`database schema version ${current} is newer than this primary (${MIGRATIONS.length})`);
  }
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]!);
      db.pragma(`user_version = ${v + 1}`);
    }).immediate();
  }
}
