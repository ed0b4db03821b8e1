/**
 * HPKE key derivation functions (RFC 9180 §7.2) and the labeled extract/expand helpers (§4).
 * Pure: only @noble/hashes.
 */

import { expand, extract } from '@noble/hashes/hkdf.js';
import { sha256, sha384, sha512 } from '@noble/hashes/sha2.js';
import type { CHash } from '@noble/hashes/utils.js';
import { ascii, concat, u16, wipe } from '../util/bytes.js';
import { HpkeError } from './errors.js';

export const KdfId = {
  HkdfSha256: 0x0001,
  HkdfSha384: 0x0002,
  HkdfSha512: 0x0003,
} as const;

export interface Kdf {
  readonly id: number;
  readonly name: string;
  /** Output size of Extract(), in bytes. */
  readonly Nh: number;
  extract(salt: Uint8Array, ikm: Uint8Array): Uint8Array;
  /** Expand(prk, info, L). `length` must be an integer in 0..255*Nh. */
  expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array;
}

function hkdf(id: number, name: string, hash: CHash): Kdf {
  const Nh = hash.outputLen;
  return Object.freeze({
    id,
    name,
    Nh,
    extract(salt: Uint8Array, ikm: Uint8Array): Uint8Array {
      return extract(hash, ikm, salt);
    },
    expand(prk: Uint8Array, info: Uint8Array, length: number): Uint8Array {
      if (!Number.isInteger(length) || length < 0 || length > 255 * Nh) {
        throw new HpkeError('INVALID_ARGUMENT', `${name} expand length ${length} outside 0..${255 * Nh}`);
      }
      if (length === 0) return new Uint8Array(0);
      return expand(hash, prk, info, length);
    },
  });
}

/** Supported KDFs by RFC 9180 identifier. Adding another HKDF is one table entry. */
const KDFS: ReadonlyMap<number, Kdf> = new Map<number, Kdf>([
  [KdfId.HkdfSha256, hkdf(KdfId.HkdfSha256, 'HKDF-SHA256', sha256)],
  [KdfId.HkdfSha384, hkdf(KdfId.HkdfSha384, 'HKDF-SHA384', sha384)],
  [KdfId.HkdfSha512, hkdf(KdfId.HkdfSha512, 'HKDF-SHA512', sha512)],
]);

export function getKdf(id: number): Kdf {
  const kdf = KDFS.get(id);
  if (kdf === undefined) throw new HpkeError('UNSUPPORTED', `KDF id 0x${id.toString(16).padStart(4, '0')} is not supported`);
  return kdf;
}

const HPKE_V1 = ascii('HPKE-v1');

/** LabeledExtract(salt, label, ikm) = Extract(salt, "HPKE-v1" || suite_id || label || ikm). */
export function labeledExtract(
  kdf: Kdf,
  suiteId: Uint8Array,
  salt: Uint8Array,
  label: string,
  ikm: Uint8Array,
): Uint8Array {
  const labeledIkm = concat(HPKE_V1, suiteId, ascii(label), ikm);
  try {
    return kdf.extract(salt, labeledIkm);
  } finally {
    wipe(labeledIkm); // it contains ikm, which is often secret (dh, psk, shared_secret)
  }
}

/** LabeledExpand(prk, label, info, L) = Expand(prk, I2OSP(L, 2) || "HPKE-v1" || suite_id || label || info, L). */
export function labeledExpand(
  kdf: Kdf,
  suiteId: Uint8Array,
  prk: Uint8Array,
  label: string,
  info: Uint8Array,
  length: number,
): Uint8Array {
  if (!Number.isInteger(length) || length < 0 || length > 0xffff) {
    throw new HpkeError('INVALID_ARGUMENT', `LabeledExpand length ${length} does not fit in two bytes`);
  }
  const labeledInfo = concat(u16(length), HPKE_V1, suiteId, ascii(label), info);
  return kdf.expand(prk, labeledInfo, length);
}
