/**
 * Backup and restore of a primary: its key file and its SQLite database,
 * together, because one is useless without the other (every device pins the
 * key; the database holds the pairing master secrets and who is approved).
 *
 * The database is copied with SQLite's online backup API, so a backup taken
 * while the service runs is a consistent snapshot of one committed state.
 * Restore writes through SQLite too (never a file copy over a live WAL), after
 * checking the backup: its integrity, and that its key is the one its
 * database was created with.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { toHex } from '../../core/src/util/bytes.js';
import { fingerprint } from '../../core/src/enroll/codec.js';
import { openDb, type Db } from './db.js';
import type { Identity } from './enroll-service.js';
import { KeyFileError, readKeyFile } from './keyfile.js';
import { AdminError } from './store.js';

export const BACKUP_KEY = 'primary.key';
export const BACKUP_DB = 'primary.db';

export interface BackupSummary {
  readonly devices: number;
  readonly pairings: number;
  readonly fingerprint: string;
}

/** A new, empty file 0600 (exclusive), so that no secret ever sits in a file others can read. */
function createSecretFile(path: string, data?: Uint8Array): void {
  const fd = openSync(path, 'wx', 0o600);
  try {
    if (data !== undefined) writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/** Checks a database file against a key: integrity, and the public key it records. */
function checkDatabase(path: string, pk: Uint8Array, what: string): BackupSummary {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const integrity = db.pragma('integrity_check', { simple: true });
    if (integrity !== 'ok') throw new AdminError(`${what}: integrity check failed: ${String(integrity)}`);
    const recorded = (db.prepare(`SELECT value FROM meta WHERE key = 'public_key'`).get() as { value: string } | undefined)?.value;
    if (recorded !== toHex(pk)) throw new AdminError(`${what}: the database was not made with this key (it records ${recorded ?? 'no key'})`);
    const devices = (db.prepare('SELECT count(*) AS n FROM devices').get() as { n: number }).n;
    const pairings = (db.prepare(`SELECT count(*) AS n FROM pairings WHERE status = 'active'`).get() as { n: number }).n;
    return { devices, pairings, fingerprint: fingerprint(pk) };
  } catch (e) {
    if (e instanceof AdminError) throw e;
    throw new AdminError(`${what}: not a primary database (${(e as Error).message})`);
  } finally {
    db.close();
  }
}

/** Writes key and a consistent database snapshot into `dir`, which must not exist yet. */
export async function backupPrimary(db: Db, keyPath: string, id: Identity, dir: string): Promise<BackupSummary> {
  try {
    mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new AdminError(`${dir} exists; a backup goes into a new directory`);
    throw e;
  }
  try {
    createSecretFile(join(dir, BACKUP_KEY), readFileSync(keyPath));
    const target = join(dir, BACKUP_DB);
    createSecretFile(target);
    await db.backup(target);
    const summary = checkDatabase(target, id.pk, `backup ${dir}`);
    fsyncDir(dir);
    return summary;
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

/**
 * Puts a backup back at `to.db` / `to.key`. The key is written only where
 * none exists; an existing key must be the backup's (restoring another
 * primary's backup over this one would change the key every device pins).
 */
export async function restorePrimary(dir: string, to: { db: string; key: string }): Promise<BackupSummary> {
  const keyFile = join(dir, BACKUP_KEY);
  const dbFile = join(dir, BACKUP_DB);
  if (!existsSync(keyFile) || !existsSync(dbFile)) throw new AdminError(`${dir} is not a backup (expected ${BACKUP_KEY} and ${BACKUP_DB})`);
  const key = readKeyFile(keyFile);
  const summary = checkDatabase(dbFile, key.pk, `backup ${dir}`);
  if (existsSync(to.key)) {
    const current = readKeyFile(to.key);
    if (toHex(current.pk) !== toHex(key.pk)) {
      throw new KeyFileError(
        `${to.key} is another key (${fingerprint(current.pk)}) than the backup's (${summary.fingerprint}); move it away first if you really mean to replace this primary`,
      );
    }
  } else {
    createSecretFile(to.key, readFileSync(keyFile));
  }
  // openDb creates the target 0600 when missing and runs in WAL mode; the backup
  // API then replaces its content page by page under SQLite's own locks.
  const target = openDb(to.db);
  target.close();
  const source = new Database(dbFile, { readonly: true, fileMustExist: true });
  try {
    await source.backup(to.db);
  } finally {
    source.close();
  }
  openDb(to.db).close(); // applies migrations when the backup is from an older version
  return checkDatabase(to.db, key.pk, `restored ${to.db}`);
}
