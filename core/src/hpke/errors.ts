/** Typed errors of the HPKE implementation (RFC 9180 §8.2 error classes plus API misuse). Pure. */

/**
 * - `DESERIALIZE`: a public or private key or `enc` has the wrong encoding/length (DeserializeError).
 * - `VALIDATION`: KEM input/output validation failed, e.g. an all-zero (low-order) X25519 DH
 *   result, or an explicit ephemeral key pair whose halves do not match (ValidationError).
 * - `DERIVE_KEY_PAIR`: DeriveKeyPair input unusable (ikm shorter than Nsk).
 * - `OPEN`: authentication of a ciphertext failed (OpenError). Never carries plaintext.
 * - `MESSAGE_LIMIT`: the context's sequence number space is exhausted (MessageLimitReachedError).
 * - `EXPORT_ONLY`: seal/open called on a context whose AEAD is export-only (0xFFFF).
 * - `EXPORT_LENGTH`: exporter length not an integer in 0..255*Nh.
 * - `INVALID_PSK`: psk/psk_id violate VerifyPSKInputs, or the PSK is shorter than 32 bytes.
 * - `DESTROYED`: the context was used after destroy().
 * - `INVALID_ARGUMENT`: other API misuse (unknown mode, missing/extra sender key, bad randomness).
 * - `UNSUPPORTED`: unknown or unimplemented KEM, KDF or AEAD identifier.
 */
export type HpkeErrorCode =
  | 'DESERIALIZE'
  | 'VALIDATION'
  | 'DERIVE_KEY_PAIR'
  | 'OPEN'
  | 'MESSAGE_LIMIT'
  | 'EXPORT_ONLY'
  | 'EXPORT_LENGTH'
  | 'INVALID_PSK'
  | 'DESTROYED'
  | 'INVALID_ARGUMENT'
  | 'UNSUPPORTED';

export class HpkeError extends Error {
  readonly code: HpkeErrorCode;

  constructor(code: HpkeErrorCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'HpkeError';
    this.code = code;
  }
}

export function isHpkeError(e: unknown, code?: HpkeErrorCode): e is HpkeError {
  return e instanceof HpkeError && (code === undefined || e.code === code);
}
