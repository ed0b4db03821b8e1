/// <reference types="node" />
// Which database the primary tests run on: SQLite (default) or, with
// PDMV2_PRIMARY_BACKEND=postgres, a new database in the process's throwaway
// PostgreSQL cluster (postgres.ts) for each primary a test makes.
import { join } from 'node:path';
import { openSqlDatabase } from '../src/open-store.js';
import type { Row } from '../src/sql.js';
import { cluster } from './postgres.js';

export const BACKEND: 'sqlite' | 'postgres' = process.env.PDMV2_PRIMARY_BACKEND === 'postgres' ? 'postgres' : 'sqlite';

/** Key file of each PostgreSQL database a test made (a SQLite database has its key next to it). */
export const KEY_OF = new Map<string, string>();

/** `--db` for a new primary whose files live in `dir`; its key is `dir`/primary.key either way. */
export async function newDb(dir: string, name = 'p'): Promise<string> {
  if (BACKEND === 'sqlite') return join(dir, `${name}.db`);
  const url = await (await cluster()).newDatabase(name);
  KEY_OF.set(url, join(dir, 'primary.key'));
  return url;
}

/** Rows of one statement (`?` placeholders) on a primary's database, whichever the backend. */
export async function query(db: string, sql: string, params: readonly unknown[] = []): Promise<Row[]> {
  const d = await openSqlDatabase(db);
  try {
    return await d.all(sql, params);
  } finally {
    await d.close();
  }
}

export async function count(db: string, sql: string, params: readonly unknown[] = []): Promise<number> {
  return Number((await query(db, sql, params))[0]!.n);
}
