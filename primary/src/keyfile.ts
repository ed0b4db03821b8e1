/**
 * X25519 key files: 64 lowercase hex digits of the private key and a newline,
 * mode 0600, created exclusively (never overwritten). Used for the primary's
 * own key and for analyzer keys made by `analyzer-keygen`.
 */
import { closeSync, fsyncSync, openSync, readFileSync, statSync, writeSync } from 'node:fs';
import { fromHex, toHex } from '../../core/src/util/bytes.js';
import { fingerprint } from '../../core/src/enroll/codec.js';
import { fastKem, generateX25519 } from './fast-suite.js';

export interface LoadedKey {
  readonly sk: Uint8Array;
  readonly pk: Uint8Array;
  readonly fingerprint: string;
  readonly created: boolean;
}

export class KeyFileError extends Error {}

export function readKeyFile(path: string): { sk: Uint8Array; pk: Uint8Array } {
  const st = statSync(path);
  if ((st.mode & 0o077) !== 0) {
    throw new KeyFileError(`${path} is accessible by group or others (mode ${(st.mode & 0o777).toString(8)}); run chmod 600 ${path}`);
  }
  const text = readFileSync(path, 'ascii').trim();
  if (!/^[0-9a-f]{64}$/.test(text)) throw new KeyFileError(`${path} does not hold a key (64 hex digits)`);
  const sk = fromHex(text);
  return { sk, pk: fastKem.publicKeyOf(sk) };
}

/** Loads the key, or creates it (0600, exclusive, fsync'd) when the file does not exist. */
export function loadOrCreateKey(path: string): LoadedKey {
  let created = false;
  try {
    const fd = openSync(path, 'wx', 0o600);
    try {
      const kp = generateX25519();
      writeSync(fd, `${toHex(kp.privateKey)}\n`);
      fsyncSync(fd);
      created = true;
    } finally {
      closeSync(fd);
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const { sk, pk } = readKeyFile(path);
  return { sk, pk, fingerprint: fingerprint(pk), created };
}

export function parsePublicKey(text: string): Uint8Array {
  const t = text.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(t)) throw new KeyFileError('a public key is 64 hex digits');
  return fromHex(t);
}
