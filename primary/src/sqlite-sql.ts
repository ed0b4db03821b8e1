/**
 * The SQLite backend of the SQL interface: one better-sqlite3 connection
 * (synchronous), used by one operation at a time.
 *
 * A transaction may await between its statements, so every use of the
 * connection is queued; code running inside a transaction reaches the
 * connection directly (AsyncLocalStorage tells), so it never waits for itself.
 * Another process holding the write lock is waited for in short steps that
 * leave the event loop free (GET /v1/info and requests that need no lock go
 * on), up to the lock wait, then StoreUnavailable (503 with Retry-After).
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';
import { openDb, schemaVersion, type Db, type OpenOptions } from './db.js';
import { sleep, sqlValue, StoreUnavailable, type Row, type Sql, type SqlDatabase } from './sql.js';

export interface SqliteOptions extends OpenOptions {
  /** Longest wait for another process's write lock before answering 503, ms. */
  readonly lockWaitMs?: number;
}

const BUSY = new Set(['SQLITE_BUSY', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_BUSY_RECOVERY', 'SQLITE_LOCKED']);

function sqliteCode(e: unknown): string {
  return String((e as { code?: unknown }).code ?? '');
}

/** SQLite's own errors that are the database's state, not the request's fault. */
export function unavailable(e: unknown): StoreUnavailable | null {
  const code = sqliteCode(e);
  if (BUSY.has(code)) return new StoreUnavailable(`database busy (${code})`, 'busy', 2);
  if (code === 'SQLITE_FULL' || code === 'SQLITE_IOERR_WRITE' || code === 'SQLITE_IOERR_FSYNC') {
    return new StoreUnavailable(`database cannot be written (${code}): disk full?`, 'full', 60);
  }
  return null;
}

export class SqliteDatabase implements SqlDatabase {
  readonly backend = 'sqlite' as const;
  private readonly statements = new Map<string, Database.Statement<unknown[]>>();
  private queue: Promise<unknown> = Promise.resolve();
  private readonly inside = new AsyncLocalStorage<SqliteDatabase>();
  private readonly direct: Sql;

  constructor(
    readonly raw: Db,
    readonly where: string,
    private readonly lockWaitMs = 1000,
  ) {
    this.direct = {
      all: async (sql, params) => this.stmt(sql).all(...(params ?? []).map(sqlValue)) as Row[],
      get: async (sql, params) => this.stmt(sql).get(...(params ?? []).map(sqlValue)) as Row | undefined,
      run: async (sql, params) => this.stmt(sql).run(...(params ?? []).map(sqlValue)).changes,
    };
  }

  private stmt(sql: string): Database.Statement<unknown[]> {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.raw.prepare<unknown[]>(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  /** Runs `f` when the connection is free (at once when called from inside a transaction of ours). */
  private exclusive<T>(f: () => Promise<T>): Promise<T> {
    if (this.inside.getStore() === this) return f();
    const run = this.queue.then(f, f);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private guarded<T>(f: () => Promise<T>): Promise<T> {
    return this.exclusive(async () => {
      try {
        return await f();
      } catch (e) {
        throw unavailable(e) ?? e;
      }
    });
  }

  all(sql: string, params?: readonly unknown[]): Promise<Row[]> {
    return this.guarded(() => this.direct.all(sql, params));
  }

  get(sql: string, params?: readonly unknown[]): Promise<Row | undefined> {
    return this.guarded(() => this.direct.get(sql, params));
  }

  run(sql: string, params?: readonly unknown[]): Promise<number> {
    return this.guarded(() => this.direct.run(sql, params));
  }

  transaction<T>(f: (sql: Sql) => Promise<T>): Promise<T> {
    if (this.inside.getStore() === this) return f(this.direct); // nested: part of the outer one
    return this.exclusive(async () => {
      await this.begin();
      try {
        const result = await this.inside.run(this, () => f(this.direct));
        this.raw.exec('COMMIT');
        return result;
      } catch (e) {
        if (this.raw.inTransaction) this.raw.exec('ROLLBACK');
        throw unavailable(e) ?? e;
      }
    });
  }

  /** BEGIN IMMEDIATE, retried without blocking the event loop while another process writes. */
  private async begin(): Promise<void> {
    const deadline = Date.now() + this.lockWaitMs;
    for (;;) {
      try {
        this.raw.exec('BEGIN IMMEDIATE');
        return;
      } catch (e) {
        const u = unavailable(e);
        if (u?.reason !== 'busy' || Date.now() >= deadline) throw u ?? e;
        await sleep(5 + Math.random() * 20);
      }
    }
  }

  async schemaVersion(): Promise<number> {
    return schemaVersion(this.raw);
  }

  async close(): Promise<void> {
    await this.queue;
    this.raw.close();
  }
}

export function openSqlite(path: string, o: SqliteOptions = {}): SqliteDatabase {
  // A few ms of blocking per attempt at most; the wait itself is begin()'s.
  return new SqliteDatabase(openDb(path, { busyTimeoutMs: 10, ...o }), path, o.lockWaitMs ?? 1000);
}
