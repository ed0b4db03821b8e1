/**
 * Which backend a `--db` names: a `postgres://` (or `postgresql://`) URL is
 * PostgreSQL, anything else a SQLite file.
 */
import { openPostgres } from './postgres-sql.js';
import type { SqlDatabase } from './sql.js';
import { openSqlite } from './sqlite-sql.js';
import { Store } from './store.js';

export function isPostgresUrl(db: string): boolean {
  return /^postgres(ql)?:\/\//i.test(db);
}

export interface OpenStoreOptions {
  /** The service: short lock waits (503 after), the CLI waits longer. */
  readonly service?: boolean;
  readonly sync?: 'normal' | 'full';
  /** SQLite: largest database in 4 KiB pages (writes beyond fail as on a full disk). */
  readonly maxPages?: number;
  /** Longest wait for another writer's lock, ms. */
  readonly lockWaitMs?: number;
  /** PostgreSQL: connections of this process. */
  readonly poolSize?: number;
}

/** Opens (a SQLite file is created when missing: callers that must not create check first) and migrates. */
export async function openSqlDatabase(db: string, o: OpenStoreOptions = {}): Promise<SqlDatabase> {
  const lockWaitMs = o.lockWaitMs ?? (o.service ? 1000 : 10000);
  if (isPostgresUrl(db)) return openPostgres(db, { lockWaitMs, ...(o.poolSize ? { poolSize: o.poolSize } : {}) });
  return openSqlite(db, {
    lockWaitMs,
    busyTimeoutMs: o.service ? 10 : 5000,
    ...(o.sync ? { sync: o.sync } : {}),
    ...(o.maxPages ? { maxPages: o.maxPages } : {}),
  });
}

export async function openStore(db: string, o: OpenStoreOptions = {}): Promise<Store> {
  return Store.open(await openSqlDatabase(db, o));
}
