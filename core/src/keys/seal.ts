/**
 * AES-GCM protection of the PDMv2 option with a 12-octet tag
 * (docs/PROTOCOL.md §5.4).
 */
import { ctr, gcm } from '@noble/ciphers/aes.js';
import { concat, constantTimeEqual, readU16, readU32, wipe } from '../util/bytes.js';
import { aeadKeyLength } from './schedule.js';
import {
  decodeMetricsBlock,
  encodeEncrypted,
  encodeMetricsBlock,
  encryptedHeader,
  ENCRYPTED_CLEAR_PART,
  METRICS_BLOCK_LEN,
  OPT_LEN_ENCRYPTED,
  PDM_OPTION_TYPE,
  PDMV2_VERSION,
  TAG_LEN,
  type OptionError,
  type Pdmv2Clear,
} from '../wire/options.js';

const NONCE_LEN = 12;

/** 6 zero octets || Version|Epoch (2) || PSNTP (4): the option's octets 2..7. */
export function optionNonce(clearPart: Uint8Array): Uint8Array {
  const nonce = new Uint8Array(NONCE_LEN);
  nonce.set(clearPart.subarray(2, ENCRYPTED_CLEAR_PART), 6);
  return nonce;
}

function checkKey(key: Uint8Array, aeadId: number): void {
  if (key.length !== aeadKeyLength(aeadId)) throw new RangeError(`key must be ${aeadKeyLength(aeadId)} octets for this AEAD`);
}

export interface SealTrace {
  nonce: Uint8Array;
  aad: Uint8Array;
  plaintext: Uint8Array;
  ciphertext: Uint8Array;
  tag: Uint8Array;
  option: Uint8Array;
}

export function sealOptionTrace(
  key: Uint8Array,
  aeadId: number,
  fields: Omit<Pdmv2Clear, 'format'>,
): SealTrace {
  checkKey(key, aeadId);
  const aad = encryptedHeader(fields.epoch, fields.psntp);
  const nonce = optionNonce(aad);
  const plaintext = encodeMetricsBlock(fields);
  const sealed = gcm(key, nonce, aad).encrypt(plaintext);
  const ciphertext = sealed.slice(0, METRICS_BLOCK_LEN);
  const tag = sealed.slice(METRICS_BLOCK_LEN, METRICS_BLOCK_LEN + TAG_LEN);
  return { nonce, aad, plaintext, ciphertext, tag, option: encodeEncrypted(fields.epoch, fields.psntp, ciphertext, tag) };
}

export function sealOption(key: Uint8Array, aeadId: number, fields: Omit<Pdmv2Clear, 'format'>): Uint8Array {
  const t = sealOptionTrace(key, aeadId, fields);
  wipe(t.plaintext);
  return t.option;
}

export type OpenError = OptionError | 'TAG_MISMATCH';
export type OpenResult = { ok: true; value: Pdmv2Clear } | { ok: false; error: OpenError };

/**
 * Open an encrypted option (all 36 octets). GCM tags truncated to 12 octets
 * cannot be checked by a library that wants 16, so the candidate plaintext is
 * recovered with AES-CTR from counter block J0+1 and re-sealed; only a
 * constant-time match of the first 12 tag octets releases it.
 */
export function openOption(key: Uint8Array, aeadId: number, option: Uint8Array): OpenResult {
  checkKey(key, aeadId);
  if (option.length < 2 + OPT_LEN_ENCRYPTED) return { ok: false, error: 'TRUNCATED' };
  if (option.length > 2 + OPT_LEN_ENCRYPTED) return { ok: false, error: 'TRAILING_DATA' };
  if (option[0] !== PDM_OPTION_TYPE) return { ok: false, error: 'NOT_PDM' };
  if (option[1] !== OPT_LEN_ENCRYPTED) return { ok: false, error: 'BAD_LENGTH' };
  if (option[2]! >> 4 !== PDMV2_VERSION) return { ok: false, error: 'BAD_VERSION' };

  const aad = option.slice(0, ENCRYPTED_CLEAR_PART);
  const nonce = optionNonce(aad);
  const ciphertext = option.subarray(ENCRYPTED_CLEAR_PART, ENCRYPTED_CLEAR_PART + METRICS_BLOCK_LEN);
  const tag = option.subarray(ENCRYPTED_CLEAR_PART + METRICS_BLOCK_LEN);

  const counterBlock = concat(nonce, Uint8Array.of(0, 0, 0, 2));
  const candidate = ctr(key, counterBlock).encrypt(ciphertext);
  const resealed = gcm(key, nonce, aad).encrypt(candidate);
  const tagOk = constantTimeEqual(resealed.subarray(METRICS_BLOCK_LEN, METRICS_BLOCK_LEN + TAG_LEN), tag);
  const ctOk = constantTimeEqual(resealed.subarray(0, METRICS_BLOCK_LEN), ciphertext);
  if (!tagOk || !ctOk) {
    wipe(candidate, resealed);
    return { ok: false, error: 'TAG_MISMATCH' };
  }
  const metrics = decodeMetricsBlock(candidate, { allowReserved: true });
  wipe(candidate);
  if (!metrics.ok) return metrics;
  const value: Pdmv2Clear = {
    format: 'pdmv2-clear',
    epoch: readU16(option, 2) & 0xfff,
    psntp: readU32(option, 4),
    ...metrics.value,
  };
  return { ok: true, value };
}
