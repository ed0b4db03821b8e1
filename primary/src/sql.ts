/**
 * The primary's asynchronous SQL interface, implemented by the embedded
 * SQLite backend (sqlite-sql.ts, the default) and by PostgreSQL
 * (postgres-sql.ts, for several instances on one database).
 *
 * Statements are written once in the SQL both accept: `?` placeholders
 * (PostgreSQL's adapter numbers them), `INSERT ... ON CONFLICT`, `RETURNING`,
 * integers and octet strings (Buffer) as values.
 */
export type Row = Record<string, unknown>;

export interface Sql {
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  get(sql: string, params?: readonly unknown[]): Promise<Row | undefined>;
  /** Runs a statement; resolves to the number of rows it changed. */
  run(sql: string, params?: readonly unknown[]): Promise<number>;
}

export type Backend = 'sqlite' | 'postgres';

export interface SqlDatabase extends Sql {
  readonly backend: Backend;
  /** Where the data is, for messages (a path, or a URL without its password). */
  readonly where: string;
  /**
   * Runs `f` in one transaction that holds the write lock from its start
   * (SQLite BEGIN IMMEDIATE; PostgreSQL row locks, with the whole
   * transaction retried on a serialization failure or a lost race on a
   * unique key). Everything `f` does goes through the `Sql` it is given.
   * Rejects with StoreUnavailable when the database stays busy past the
   * configured lock wait, is full, or cannot be reached.
   */
  transaction<T>(f: (sql: Sql) => Promise<T>): Promise<T>;
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}

/**
 * The database cannot take the request now, through no fault of the
 * request: the HTTP layer answers 503 with Retry-After (docs/PROTOCOL.md 7.9).
 */
export class StoreUnavailable extends Error {
  constructor(
    message: string,
    readonly reason: 'busy' | 'full' | 'down',
    readonly retryAfter: number,
  ) {
    super(message);
  }
}

/** Octet strings as the drivers want them (both take Buffer; neither every Uint8Array). */
export function sqlValue(v: unknown): unknown {
  if (v instanceof Uint8Array && !Buffer.isBuffer(v)) return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
  return v;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
