/**
 * RFC 9180 Hybrid Public Key Encryption: key schedule, encryption contexts, the setup
 * functions of the four modes and the single-shot APIs. The primitives live in
 * kem.ts (DHKEM(X25519, HKDF-SHA256)), kdf.ts (HKDF-SHA256/384/512) and
 * aead.ts (AES-128-GCM, AES-256-GCM, ChaCha20-Poly1305, export-only).
 *
 * Pure: no runtime API; randomness is injected (`RandomBytes`). Built on @noble rather than
 * @hpke/core because the latter needs WebCrypto (crypto.subtle), which QuickJS lacks.
 *
 * Secrets (shared_secret, secret, DH outputs, PRKs) are wiped once used and a context's keys
 * are wiped by `destroy()`. In JS this is best effort only: the engine may keep copies.
 */

import { ascii, concat, u8, u16, wipe } from '../util/bytes.js';
import type { RandomBytes } from '../util/bytes.js';
import { getAead } from './aead.js';
import type { Aead } from './aead.js';
import { HpkeError } from './errors.js';
import { getKdf, labeledExpand, labeledExtract } from './kdf.js';
import type { Kdf } from './kdf.js';
import { getKem } from './kem.js';
import type { EphemeralSource, Kem, KeyPair } from './kem.js';

export { HpkeError, isHpkeError } from './errors.js';
export type { HpkeErrorCode } from './errors.js';
export { AeadId, getAead } from './aead.js';
export type { Aead } from './aead.js';
export { KdfId, getKdf, labeledExpand, labeledExtract } from './kdf.js';
export type { Kdf } from './kdf.js';
export { KemId, getKem } from './kem.js';
export type { EncapResult, EphemeralSource, Kem, KeyPair } from './kem.js';
export type { RandomBytes } from '../util/bytes.js';

export const Mode = {
  Base: 0x00,
  Psk: 0x01,
  Auth: 0x02,
  AuthPsk: 0x03,
} as const;
export type Mode = (typeof Mode)[keyof typeof Mode];

/** Minimum PSK length: RFC 9180 §5.1.2 "The PSK MUST have at least 32 bytes of entropy". */
export const MIN_PSK_LENGTH = 32;

const EMPTY = new Uint8Array(0);

// ---------------------------------------------------------------------------------------------
// Cipher suite

export interface Suite {
  readonly kem: Kem;
  readonly kdf: Kdf;
  readonly aead: Aead;
  /** suite_id = "HPKE" || I2OSP(kem_id, 2) || I2OSP(kdf_id, 2) || I2OSP(aead_id, 2). */
  readonly suiteId: Uint8Array;
}

/** Resolves the three identifiers; throws HpkeError 'UNSUPPORTED' naming the first unknown one. */
export function createSuite(kemId: number, kdfId: number, aeadId: number): Suite {
  return suiteWithKem(getKem(kemId), kdfId, aeadId);
}

/** A suite around a given KEM implementation (another backend for the same KEM id). */
export function suiteWithKem(kem: Kem, kdfId: number, aeadId: number): Suite {
  const kdf = getKdf(kdfId);
  const aead = getAead(aeadId);
  return Object.freeze({ kem, kdf, aead, suiteId: concat(ascii('HPKE'), u16(kem.id), u16(kdfId), u16(aeadId)) });
}

// ---------------------------------------------------------------------------------------------
// Key schedule (RFC 9180 §5.1)

function isMode(mode: unknown): mode is Mode {
  return mode === 0 || mode === 1 || mode === 2 || mode === 3;
}

function assertMode(mode: unknown): asserts mode is Mode {
  if (!isMode(mode)) throw new HpkeError('INVALID_ARGUMENT', `unknown HPKE mode ${String(mode)}`);
}

function modeUsesPsk(mode: Mode): boolean {
  return mode === Mode.Psk || mode === Mode.AuthPsk;
}

function modeUsesAuth(mode: Mode): boolean {
  return mode === Mode.Auth || mode === Mode.AuthPsk;
}

/** VerifyPSKInputs (RFC 9180 §5.1) plus the 32-byte minimum; throws HpkeError 'INVALID_PSK'. */
export function verifyPskInputs(mode: Mode, psk: Uint8Array = EMPTY, pskId: Uint8Array = EMPTY): void {
  assertMode(mode);
  const gotPsk = psk.length !== 0;
  const gotPskId = pskId.length !== 0;
  if (gotPsk !== gotPskId) throw new HpkeError('INVALID_PSK', 'inconsistent PSK inputs: psk and psk_id must be given together');
  if (gotPsk && !modeUsesPsk(mode)) throw new HpkeError('INVALID_PSK', `PSK input provided when not needed (mode ${mode})`);
  if (!gotPsk && modeUsesPsk(mode)) throw new HpkeError('INVALID_PSK', `missing required PSK input (mode ${mode})`);
  if (gotPsk && psk.length < MIN_PSK_LENGTH) {
    throw new HpkeError('INVALID_PSK', `PSK is ${psk.length} bytes, at least ${MIN_PSK_LENGTH} required`);
  }
}

/** Everything KeySchedule() computes; exposed so tests can compare against the RFC vectors. */
export interface KeyScheduleResult {
  readonly keyScheduleContext: Uint8Array;
  readonly secret: Uint8Array;
  readonly key: Uint8Array;
  readonly baseNonce: Uint8Array;
  readonly exporterSecret: Uint8Array;
}

/**
 * KeySchedule<ROLE>(mode, shared_secret, info, psk, psk_id) without the context creation.
 * The caller owns the returned buffers (and should wipe `secret` when done).
 */
export function keySchedule(
  suite: Suite,
  mode: Mode,
  sharedSecret: Uint8Array,
  info: Uint8Array = EMPTY,
  psk: Uint8Array = EMPTY,
  pskId: Uint8Array = EMPTY,
): KeyScheduleResult {
  verifyPskInputs(mode, psk, pskId);
  const { kdf, aead, suiteId } = suite;
  const pskIdHash = labeledExtract(kdf, suiteId, EMPTY, 'psk_id_hash', pskId);
  const infoHash = labeledExtract(kdf, suiteId, EMPTY, 'info_hash', info);
  const keyScheduleContext = concat(u8(mode), pskIdHash, infoHash);
  const secret = labeledExtract(kdf, suiteId, sharedSecret, 'secret', psk);
  const key = labeledExpand(kdf, suiteId, secret, 'key', keyScheduleContext, aead.Nk);
  const baseNonce = labeledExpand(kdf, suiteId, secret, 'base_nonce', keyScheduleContext, aead.Nn);
  const exporterSecret = labeledExpand(kdf, suiteId, secret, 'exp', keyScheduleContext, kdf.Nh);
  return { keyScheduleContext, secret, key, baseNonce, exporterSecret };
}

/** ComputeNonce(seq) = base_nonce XOR I2OSP(seq, Nn). */
export function computeNonce(baseNonce: Uint8Array, seq: bigint): Uint8Array {
  const nonce = Uint8Array.from(baseNonce);
  let s = seq;
  for (let i = nonce.length - 1; i >= 0 && s > 0n; i--) {
    nonce[i] = nonce[i]! ^ Number(s & 0xffn);
    s >>= 8n;
  }
  return nonce;
}

// ---------------------------------------------------------------------------------------------
// Contexts (RFC 9180 §5.2, §5.3)

abstract class Context {
  readonly suite: Suite;
  readonly #key: Uint8Array;
  readonly #baseNonce: Uint8Array;
  readonly #exporterSecret: Uint8Array;
  /** Sequence numbers 0 .. 2^(8*Nn) - 2 are usable; reaching `#limit` means exhausted. */
  readonly #limit: bigint;
  #seq = 0n;
  #destroyed = false;

  /** Takes ownership of the three buffers (they are wiped by destroy()). */
  constructor(suite: Suite, key: Uint8Array, baseNonce: Uint8Array, exporterSecret: Uint8Array) {
    this.suite = suite;
    this.#key = key;
    this.#baseNonce = baseNonce;
    this.#exporterSecret = exporterSecret;
    this.#limit = (1n << BigInt(8 * suite.aead.Nn)) - 1n;
  }

  /** The sequence number the next seal/open will use. */
  get sequenceNumber(): bigint {
    return this.#seq;
  }

  /**
   * Moves the sequence number forward by `count` as if that many messages had been processed
   * (never backwards, so no nonce can be reused). Used to replay the RFC vectors, which list
   * only some sequence numbers, and by applications that tolerate lost messages.
   */
  skip(count: number | bigint): void {
    this.#checkAlive();
    const n = typeof count === 'bigint' ? count : Number.isSafeInteger(count) ? BigInt(count) : -1n;
    if (n < 0n) throw new HpkeError('INVALID_ARGUMENT', `skip count must be a non-negative integer, got ${String(count)}`);
    if (this.#seq + n > this.#limit) throw new HpkeError('MESSAGE_LIMIT', 'skip would exceed the message limit');
    this.#seq += n;
  }

  /** Export(exporter_context, L) = LabeledExpand(exporter_secret, "sec", exporter_context, L). */
  export(exporterContext: Uint8Array, length: number): Uint8Array {
    this.#checkAlive();
    const { kdf, suiteId } = this.suite;
    if (!Number.isInteger(length) || length < 0 || length > 255 * kdf.Nh) {
      throw new HpkeError('EXPORT_LENGTH', `export length ${length} outside 0..${255 * kdf.Nh}`);
    }
    return labeledExpand(kdf, suiteId, this.#exporterSecret, 'sec', exporterContext, length);
  }

  /**
   * Best-effort wipe of the context's key, base nonce and exporter secret. Any later use
   * throws HpkeError 'DESTROYED'.
   */
  destroy(): void {
    wipe(this.#key, this.#baseNonce, this.#exporterSecret);
    this.#destroyed = true;
  }

  #checkAlive(): void {
    if (this.#destroyed) throw new HpkeError('DESTROYED', 'the context has been destroyed');
  }

  protected process<T>(op: (aead: Aead, key: Uint8Array, nonce: Uint8Array) => T): T {
    this.#checkAlive();
    const { aead } = this.suite;
    if (aead.exportOnly) throw new HpkeError('EXPORT_ONLY', 'the export-only AEAD (0xFFFF) cannot seal or open');
    // RFC IncrementSeq raises once seq reaches 2^(8*Nn) - 1; checking first is equivalent and
    // never computes a ciphertext that would then be withheld.
    if (this.#seq >= this.#limit) throw new HpkeError('MESSAGE_LIMIT', 'message limit reached');
    const nonce = computeNonce(this.#baseNonce, this.#seq);
    const out = op(aead, this.#key, nonce); // throws before the increment on failure
    this.#seq += 1n;
    return out;
  }
}

export class SenderContext extends Context {
  /** Seal(aad, pt): encrypts with the current sequence number, then increments it. */
  seal(aad: Uint8Array, pt: Uint8Array): Uint8Array {
    return this.process((aead, key, nonce) => aead.seal(key, nonce, aad, pt));
  }
}

export class RecipientContext extends Context {
  /**
   * Open(aad, ct): throws HpkeError 'OPEN' (and leaves the sequence number unchanged) if the
   * ciphertext does not authenticate. No plaintext is produced before the tag has been checked.
   */
  open(aad: Uint8Array, ct: Uint8Array): Uint8Array {
    return this.process((aead, key, nonce) => aead.open(key, nonce, aad, ct));
  }
}

// ---------------------------------------------------------------------------------------------
// Setup (RFC 9180 §5.1.1 - §5.1.4), general form

export interface SenderSetupParams {
  readonly mode: Mode;
  /** Recipient public key (serialized). */
  readonly pkR: Uint8Array;
  readonly info?: Uint8Array;
  /** psk and pskId: required in psk / auth_psk modes, forbidden otherwise. */
  readonly psk?: Uint8Array;
  readonly pskId?: Uint8Array;
  /** Sender private key: required in auth / auth_psk modes, forbidden otherwise. */
  readonly skS?: Uint8Array;
  /** Normally the runtime's RandomBytes; `{ ikm }` or `{ keyPair }` for deterministic tests. */
  readonly ephemeral: EphemeralSource;
}

export interface RecipientSetupParams {
  readonly mode: Mode;
  readonly enc: Uint8Array;
  /** Recipient private key (serialized). */
  readonly skR: Uint8Array;
  readonly info?: Uint8Array;
  readonly psk?: Uint8Array;
  readonly pskId?: Uint8Array;
  /** Sender public key: required in auth / auth_psk modes, forbidden otherwise. */
  readonly pkS?: Uint8Array;
}

export interface SenderSetup {
  readonly enc: Uint8Array;
  readonly context: SenderContext;
}

function checkAuthKey(mode: Mode, key: Uint8Array | undefined, what: string): void {
  if (modeUsesAuth(mode) && key === undefined) throw new HpkeError('INVALID_ARGUMENT', `mode ${mode} requires ${what}`);
  if (!modeUsesAuth(mode) && key !== undefined) throw new HpkeError('INVALID_ARGUMENT', `${what} given but mode ${mode} is not an auth mode`);
}

function finishSchedule(
  suite: Suite,
  mode: Mode,
  sharedSecret: Uint8Array,
  p: { readonly info?: Uint8Array; readonly psk?: Uint8Array; readonly pskId?: Uint8Array },
): KeyScheduleResult {
  try {
    const ks = keySchedule(suite, mode, sharedSecret, p.info, p.psk, p.pskId);
    wipe(ks.secret);
    return ks;
  } finally {
    wipe(sharedSecret);
  }
}

export function setupSender(suite: Suite, params: SenderSetupParams): SenderSetup {
  const { mode } = params;
  assertMode(mode);
  checkAuthKey(mode, params.skS, 'a sender private key (skS)');
  verifyPskInputs(mode, params.psk, params.pskId); // fail before doing any KEM work
  const { sharedSecret, enc } =
    params.skS === undefined
      ? suite.kem.encap(params.pkR, params.ephemeral)
      : suite.kem.authEncap(params.pkR, params.skS, params.ephemeral);
  const ks = finishSchedule(suite, mode, sharedSecret, params);
  return { enc, context: new SenderContext(suite, ks.key, ks.baseNonce, ks.exporterSecret) };
}

export function setupRecipient(suite: Suite, params: RecipientSetupParams): RecipientContext {
  const { mode } = params;
  assertMode(mode);
  checkAuthKey(mode, params.pkS, 'a sender public key (pkS)');
  verifyPskInputs(mode, params.psk, params.pskId);
  const sharedSecret =
    params.pkS === undefined
      ? suite.kem.decap(params.enc, params.skR)
      : suite.kem.authDecap(params.enc, params.skR, params.pkS);
  const ks = finishSchedule(suite, mode, sharedSecret, params);
  return new RecipientContext(suite, ks.key, ks.baseNonce, ks.exporterSecret);
}

// ---------------------------------------------------------------------------------------------
// Setup, RFC-named forms

export function setupBaseS(suite: Suite, pkR: Uint8Array, info: Uint8Array, ephemeral: EphemeralSource): SenderSetup {
  return setupSender(suite, { mode: Mode.Base, pkR, info, ephemeral });
}

export function setupPskS(
  suite: Suite,
  pkR: Uint8Array,
  info: Uint8Array,
  psk: Uint8Array,
  pskId: Uint8Array,
  ephemeral: EphemeralSource,
): SenderSetup {
  return setupSender(suite, { mode: Mode.Psk, pkR, info, psk, pskId, ephemeral });
}

export function setupAuthS(
  suite: Suite,
  pkR: Uint8Array,
  info: Uint8Array,
  skS: Uint8Array,
  ephemeral: EphemeralSource,
): SenderSetup {
  return setupSender(suite, { mode: Mode.Auth, pkR, info, skS, ephemeral });
}

export function setupAuthPskS(
  suite: Suite,
  pkR: Uint8Array,
  info: Uint8Array,
  psk: Uint8Array,
  pskId: Uint8Array,
  skS: Uint8Array,
  ephemeral: EphemeralSource,
): SenderSetup {
  return setupSender(suite, { mode: Mode.AuthPsk, pkR, info, psk, pskId, skS, ephemeral });
}

export function setupBaseR(suite: Suite, enc: Uint8Array, skR: Uint8Array, info: Uint8Array): RecipientContext {
  return setupRecipient(suite, { mode: Mode.Base, enc, skR, info });
}

export function setupPskR(
  suite: Suite,
  enc: Uint8Array,
  skR: Uint8Array,
  info: Uint8Array,
  psk: Uint8Array,
  pskId: Uint8Array,
): RecipientContext {
  return setupRecipient(suite, { mode: Mode.Psk, enc, skR, info, psk, pskId });
}

export function setupAuthR(
  suite: Suite,
  enc: Uint8Array,
  skR: Uint8Array,
  info: Uint8Array,
  pkS: Uint8Array,
): RecipientContext {
  return setupRecipient(suite, { mode: Mode.Auth, enc, skR, info, pkS });
}

export function setupAuthPskR(
  suite: Suite,
  enc: Uint8Array,
  skR: Uint8Array,
  info: Uint8Array,
  psk: Uint8Array,
  pskId: Uint8Array,
  pkS: Uint8Array,
): RecipientContext {
  return setupRecipient(suite, { mode: Mode.AuthPsk, enc, skR, info, psk, pskId, pkS });
}

// ---------------------------------------------------------------------------------------------
// Single-shot APIs (RFC 9180 §6)

export function seal(
  suite: Suite,
  params: SenderSetupParams & { readonly aad?: Uint8Array; readonly pt: Uint8Array },
): { enc: Uint8Array; ct: Uint8Array } {
  const { enc, context } = setupSender(suite, params);
  try {
    return { enc, ct: context.seal(params.aad ?? EMPTY, params.pt) };
  } finally {
    context.destroy();
  }
}

export function open(
  suite: Suite,
  params: RecipientSetupParams & { readonly aad?: Uint8Array; readonly ct: Uint8Array },
): Uint8Array {
  const context = setupRecipient(suite, params);
  try {
    return context.open(params.aad ?? EMPTY, params.ct);
  } finally {
    context.destroy();
  }
}

export function sendExport(
  suite: Suite,
  params: SenderSetupParams & { readonly exporterContext: Uint8Array; readonly length: number },
): { enc: Uint8Array; exported: Uint8Array } {
  const { enc, context } = setupSender(suite, params);
  try {
    return { enc, exported: context.export(params.exporterContext, params.length) };
  } finally {
    context.destroy();
  }
}

export function receiveExport(
  suite: Suite,
  params: RecipientSetupParams & { readonly exporterContext: Uint8Array; readonly length: number },
): Uint8Array {
  const context = setupRecipient(suite, params);
  try {
    return context.export(params.exporterContext, params.length);
  } finally {
    context.destroy();
  }
}

/** GenerateKeyPair for the suite's KEM (convenience). */
export function generateKeyPair(suite: Suite, random: RandomBytes): KeyPair {
  return suite.kem.generateKeyPair(random);
}

/** DeriveKeyPair(ikm) for the suite's KEM (convenience). */
export function deriveKeyPair(suite: Suite, ikm: Uint8Array): KeyPair {
  return suite.kem.deriveKeyPair(ikm);
}
