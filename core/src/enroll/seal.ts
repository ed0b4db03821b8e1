/**
 * Sealing and opening of the enveloped messages with HPKE auth mode
 * (docs/PROTOCOL.md §7.1): the sender's static key authenticates,
 * the recipient's static key decrypts, and a response is bound to the exact
 * request it answers (its AAD carries SHA-256 of the request envelope).
 * Pure; the HPKE suite is injectable so the primary can use a faster KEM.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ascii, concat, constantTimeEqual, u8, u16, type RandomBytes } from '../util/bytes.js';
import {
  MSG_LABELS,
  parseRequestEnvelope,
  parseResponseEnvelope,
  requestHeader,
  responseHeader,
  MAX_REQUEST_PLAINTEXT,
  MAX_RESPONSE_PLAINTEXT,
  MsgType,
  type EnvelopeError,
  type SuiteIds,
} from './codec.js';
import { createSuite, HpkeError, isHpkeError, Mode, setupRecipient, setupSender, suiteWithKem, type Kem, type Suite } from '../hpke/hpke.js';

export type SealErrorCode = EnvelopeError | 'UNAUTHENTICATED' | 'WRONG_SENDER' | 'SUITE_MISMATCH';

export class SealError extends Error {
  readonly code: SealErrorCode;
  constructor(code: SealErrorCode, message: string) {
    super(message);
    this.name = 'SealError';
    this.code = code;
  }
}

export type SuiteProvider = (ids: SuiteIds) => Suite;

/** A SuiteProvider that builds each suite once. */
function cachedSuites(make: (ids: SuiteIds) => Suite): SuiteProvider {
  const cache = new Map<string, Suite>();
  return (ids) => {
    const key = `${ids.kem}/${ids.kdf}/${ids.aead}`;
    let s = cache.get(key);
    if (!s) {
      s = make(ids);
      cache.set(key, s);
    }
    return s;
  };
}

/** The pure-TypeScript HPKE suites (cached). */
export const pureSuites: SuiteProvider = cachedSuites((ids) => createSuite(ids.kem, ids.kdf, ids.aead));

/** Suites that use another implementation of a KEM (the agent's ladder, the primary's node:crypto). */
export function suitesWithKem(kem: Kem): SuiteProvider {
  return cachedSuites((ids) => {
    if (ids.kem !== kem.id) throw new HpkeError('UNSUPPORTED', `KEM 0x${ids.kem.toString(16)} not supported`);
    return suiteWithKem(kem, ids.kdf, ids.aead);
  });
}

/** info = label || 0x00 || u16 kem_id || u16 kdf_id || u16 aead_id. */
export function messageInfo(type: MsgType, ids: SuiteIds): Uint8Array {
  return concat(ascii(MSG_LABELS[type]), u8(0), u16(ids.kem), u16(ids.kdf), u16(ids.aead));
}

function envelopeError(error: EnvelopeError): SealError {
  const text: Record<EnvelopeError, string> = {
    TRUNCATED: 'message is truncated',
    TOO_LARGE: 'message is too large',
    UNSUPPORTED_VERSION: 'unsupported envelope version',
    WRONG_TYPE: 'unexpected message type',
    UNSUPPORTED_SUITE: 'unsupported HPKE suite',
  };
  return new SealError(error, text[error]);
}

export interface SealRequestParams {
  readonly type: MsgType;
  readonly suite: SuiteIds;
  readonly senderSk: Uint8Array;
  readonly senderPk: Uint8Array;
  readonly recipientPk: Uint8Array;
  readonly plaintext: Uint8Array;
  readonly random: RandomBytes;
  readonly suites?: SuiteProvider;
}

export function sealRequest(p: SealRequestParams): Uint8Array {
  if (p.plaintext.length > MAX_REQUEST_PLAINTEXT) throw new SealError('TOO_LARGE', 'request plaintext is too large');
  const suite = (p.suites ?? pureSuites)(p.suite);
  const { enc, context } = setupSender(suite, {
    mode: Mode.Auth,
    pkR: p.recipientPk,
    skS: p.senderSk,
    info: messageInfo(p.type, p.suite),
    ephemeral: p.random,
  });
  try {
    const header = requestHeader(p.type, p.suite, p.senderPk, enc);
    return concat(header, context.seal(header, p.plaintext));
  } finally {
    context.destroy();
  }
}

export interface OpenedRequest {
  readonly suite: SuiteIds;
  readonly senderPk: Uint8Array;
  readonly plaintext: Uint8Array;
}

/**
 * Opens a request-shaped envelope. Throws SealError: envelope codes, or
 * UNAUTHENTICATED when the ciphertext does not open (wrong recipient key,
 * sender without the private key of the public key it claims, tampering).
 */
export function openRequest(
  type: MsgType,
  envelope: Uint8Array,
  recipientSk: Uint8Array,
  suites: SuiteProvider = pureSuites,
): OpenedRequest {
  const parsed = parseRequestEnvelope(envelope, type);
  if (!parsed.ok) throw envelopeError(parsed.error);
  const env = parsed.value;
  const suite = suites(env.suite);
  try {
    const ctx = setupRecipient(suite, {
      mode: Mode.Auth,
      enc: env.enc,
      skR: recipientSk,
      pkS: env.senderPk,
      info: messageInfo(type, env.suite),
    });
    try {
      return { suite: env.suite, senderPk: env.senderPk, plaintext: ctx.open(env.header, env.ct) };
    } finally {
      ctx.destroy();
    }
  } catch (e) {
    if (isHpkeError(e)) throw new SealError('UNAUTHENTICATED', 'the message could not be authenticated');
    throw e;
  }
}

export interface SealResponseParams {
  readonly type: MsgType;
  /** The request envelope being answered, exactly as received. */
  readonly request: Uint8Array;
  readonly senderSk: Uint8Array;
  readonly recipientPk: Uint8Array;
  readonly plaintext: Uint8Array;
  readonly random: RandomBytes;
  readonly suites?: SuiteProvider;
}

/** Response AAD: the response header (40 octets) || SHA-256(request envelope). */
export function responseAad(header: Uint8Array, request: Uint8Array): Uint8Array {
  return concat(header, sha256(request));
}

function requestSuite(request: Uint8Array, responseType: MsgType): SuiteIds {
  const reqType = (responseType - 1) as MsgType;
  const parsed = parseRequestEnvelope(request, reqType);
  if (!parsed.ok) throw envelopeError(parsed.error);
  return parsed.value.suite;
}

export function sealResponse(p: SealResponseParams): Uint8Array {
  if (p.plaintext.length > MAX_RESPONSE_PLAINTEXT) throw new SealError('TOO_LARGE', 'response plaintext is too large');
  const ids = requestSuite(p.request, p.type);
  const suite = (p.suites ?? pureSuites)(ids);
  const { enc, context } = setupSender(suite, {
    mode: Mode.Auth,
    pkR: p.recipientPk,
    skS: p.senderSk,
    info: messageInfo(p.type, ids),
    ephemeral: p.random,
  });
  try {
    const header = responseHeader(p.type, ids, enc);
    return concat(header, context.seal(responseAad(header, p.request), p.plaintext));
  } finally {
    context.destroy();
  }
}

export interface OpenResponseParams {
  readonly type: MsgType;
  readonly envelope: Uint8Array;
  /** The request envelope this side sent. */
  readonly request: Uint8Array;
  readonly recipientSk: Uint8Array;
  /** The expected sender (the configured primary key). */
  readonly senderPk: Uint8Array;
  readonly suites?: SuiteProvider;
}

/**
 * Opens a response. Throws SealError: envelope codes; SUITE_MISMATCH when the
 * suite differs from the request's; UNAUTHENTICATED when it does not open
 * with the expected sender key, or belongs to another request.
 */
export function openResponse(p: OpenResponseParams): Uint8Array {
  const parsed = parseResponseEnvelope(p.envelope, p.type);
  if (!parsed.ok) throw envelopeError(parsed.error);
  const env = parsed.value;
  const ids = requestSuite(p.request, p.type);
  if (ids.kem !== env.suite.kem || ids.kdf !== env.suite.kdf || ids.aead !== env.suite.aead) {
    throw new SealError('SUITE_MISMATCH', 'response suite differs from the request suite');
  }
  const suite = (p.suites ?? pureSuites)(ids);
  try {
    const ctx = setupRecipient(suite, {
      mode: Mode.Auth,
      enc: env.enc,
      skR: p.recipientSk,
      pkS: p.senderPk,
      info: messageInfo(p.type, ids),
    });
    try {
      return ctx.open(responseAad(env.header, p.request), env.ct);
    } finally {
      ctx.destroy();
    }
  } catch (e) {
    if (isHpkeError(e)) {
      throw new SealError('UNAUTHENTICATED', 'the response is not authenticated by the expected sender for this request');
    }
    throw e;
  }
}

/** True when `pk` equals `expected` (constant time). */
export function sameKey(pk: Uint8Array, expected: Uint8Array): boolean {
  return constantTimeEqual(pk, expected);
}
