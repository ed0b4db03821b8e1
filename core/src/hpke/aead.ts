/**
 * HPKE AEADs (RFC 9180 §7.3): AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305 and export-only.
 * Pure: only @noble/ciphers, whose decrypt() checks the tag before producing any plaintext.
 */

import { gcm } from '@noble/ciphers/aes.js';
import { chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { HpkeError } from './errors.js';

export const AeadId = {
  Aes128Gcm: 0x0001,
  Aes256Gcm: 0x0002,
  ChaCha20Poly1305: 0x0003,
  ExportOnly: 0xffff,
} as const;

export interface Aead {
  readonly id: number;
  readonly name: string;
  /** Key, nonce and tag sizes in bytes (all 0 for export-only). */
  readonly Nk: number;
  readonly Nn: number;
  readonly Nt: number;
  /** True for the export-only AEAD (0xFFFF): seal/open throw HpkeError 'EXPORT_ONLY'. */
  readonly exportOnly: boolean;
  seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array;
  /** Throws HpkeError 'OPEN' on any failure; never returns unauthenticated plaintext. */
  open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Uint8Array;
}

interface Cipher {
  encrypt(data: Uint8Array): Uint8Array;
  decrypt(data: Uint8Array): Uint8Array;
}

function nobleAead(
  id: number,
  name: string,
  Nk: number,
  make: (key: Uint8Array, nonce: Uint8Array, aad: Uint8Array) => Cipher,
): Aead {
  const Nn = 12;
  const Nt = 16;
  function check(key: Uint8Array, nonce: Uint8Array): void {
    if (!(key instanceof Uint8Array) || key.length !== Nk) throw new HpkeError('INVALID_ARGUMENT', `${name} key must be ${Nk} bytes`);
    if (!(nonce instanceof Uint8Array) || nonce.length !== Nn) throw new HpkeError('INVALID_ARGUMENT', `${name} nonce must be ${Nn} bytes`);
  }
  return Object.freeze({
    id,
    name,
    Nk,
    Nn,
    Nt,
    exportOnly: false,
    seal(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, pt: Uint8Array): Uint8Array {
      check(key, nonce);
      return make(key, nonce, aad).encrypt(pt);
    },
    open(key: Uint8Array, nonce: Uint8Array, aad: Uint8Array, ct: Uint8Array): Uint8Array {
      check(key, nonce);
      if (!(ct instanceof Uint8Array) || ct.length < Nt) throw new HpkeError('OPEN', `${name}: ciphertext shorter than the tag`);
      try {
        return make(key, nonce, aad).decrypt(ct);
      } catch {
        // Deliberately no detail: the only information released is "did not authenticate".
        throw new HpkeError('OPEN', `${name}: authentication failed`);
      }
    },
  });
}

function exportOnlyError(): never {
  throw new HpkeError('EXPORT_ONLY', 'the export-only AEAD (0xFFFF) cannot seal or open');
}

const EXPORT_ONLY: Aead = Object.freeze({
  id: AeadId.ExportOnly,
  name: 'Export-only',
  Nk: 0,
  Nn: 0,
  Nt: 0,
  exportOnly: true,
  seal: exportOnlyError,
  open: exportOnlyError,
});

const AEADS: ReadonlyMap<number, Aead> = new Map<number, Aead>([
  [AeadId.Aes128Gcm, nobleAead(AeadId.Aes128Gcm, 'AES-128-GCM', 16, (k, n, a) => gcm(k, n, a))],
  [AeadId.Aes256Gcm, nobleAead(AeadId.Aes256Gcm, 'AES-256-GCM', 32, (k, n, a) => gcm(k, n, a))],
  [AeadId.ChaCha20Poly1305, nobleAead(AeadId.ChaCha20Poly1305, 'ChaCha20Poly1305', 32, (k, n, a) => chacha20poly1305(k, n, a))],
  [AeadId.ExportOnly, EXPORT_ONLY],
]);

export function getAead(id: number): Aead {
  const aead = AEADS.get(id);
  if (aead === undefined) throw new HpkeError('UNSUPPORTED', `AEAD id 0x${id.toString(16).padStart(4, '0')} is not supported`);
  return aead;
}
