/**
 * Binary envelopes of the sealed messages (enrollment, pairing updates,
 * analyzer key files), device fingerprints and enrollment tokens
 * (docs/PROTOCOL.md §7.1, §7.3, §7.4). Pure: no runtime API.
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { ascii, concat, readU16, u8, u16 } from '../util/bytes.js';

export const ENVELOPE_VERSION = 1;

export const MsgType = {
  EnrollRequest: 0x01,
  EnrollResponse: 0x02,
  PairUpdateRequest: 0x03,
  PairUpdateResponse: 0x04,
  AnalyzerKeys: 0x05,
} as const;
export type MsgType = (typeof MsgType)[keyof typeof MsgType];

/** HPKE info label per message type: info = label || 0x00 || kem || kdf || aead. */
export const MSG_LABELS: Readonly<Record<MsgType, string>> = {
  [MsgType.EnrollRequest]: 'pdmv2 v1 enroll request',
  [MsgType.EnrollResponse]: 'pdmv2 v1 enroll response',
  [MsgType.PairUpdateRequest]: 'pdmv2 v1 pair update request',
  [MsgType.PairUpdateResponse]: 'pdmv2 v1 pair update response',
  [MsgType.AnalyzerKeys]: 'pdmv2 v1 analyzer keys',
};

/** Types that have the request shape (sender public key in the header). */
const REQUEST_SHAPED: ReadonlySet<number> = new Set([MsgType.EnrollRequest, MsgType.PairUpdateRequest, MsgType.AnalyzerKeys]);

export interface SuiteIds {
  readonly kem: number;
  readonly kdf: number;
  readonly aead: number;
}

/** What the enrollment protocol accepts: DHKEM(X25519), HKDF-SHA256, and a real AEAD. */
export const ENROLL_KEM = 0x0020;
export const ENROLL_KDF = 0x0001;
export const ENROLL_AEADS: readonly number[] = [0x0001, 0x0002, 0x0003];
/** The agent's default: ChaCha20-Poly1305 is the fastest of the three in pure JS. */
export const DEFAULT_SUITE: SuiteIds = Object.freeze({ kem: ENROLL_KEM, kdf: ENROLL_KDF, aead: 0x0003 });

export function isEnrollSuite(s: SuiteIds): boolean {
  return s.kem === ENROLL_KEM && s.kdf === ENROLL_KDF && ENROLL_AEADS.includes(s.aead);
}

export const PK_LEN = 32;
export const ENC_LEN = 32;
export const TAG_LEN = 16;
export const REQUEST_HEADER_LEN = 8 + PK_LEN + ENC_LEN; // 72
export const RESPONSE_HEADER_LEN = 8 + ENC_LEN; // 40

/** Size limits (octets) of whole envelopes and of their plaintexts. */
export const MAX_REQUEST_ENVELOPE = 16384;
export const MAX_REQUEST_PLAINTEXT = MAX_REQUEST_ENVELOPE - REQUEST_HEADER_LEN - TAG_LEN;
export const MAX_RESPONSE_ENVELOPE = 65536;
export const MAX_RESPONSE_PLAINTEXT = MAX_RESPONSE_ENVELOPE - RESPONSE_HEADER_LEN - TAG_LEN;

export type EnvelopeError = 'TRUNCATED' | 'TOO_LARGE' | 'UNSUPPORTED_VERSION' | 'WRONG_TYPE' | 'UNSUPPORTED_SUITE';

export interface RequestEnvelope {
  readonly type: MsgType;
  readonly suite: SuiteIds;
  readonly senderPk: Uint8Array;
  readonly enc: Uint8Array;
  /** Octets 0..71: the AAD of the request ciphertext. */
  readonly header: Uint8Array;
  readonly ct: Uint8Array;
}

export interface ResponseEnvelope {
  readonly type: MsgType;
  readonly suite: SuiteIds;
  readonly enc: Uint8Array;
  /** Octets 0..39. */
  readonly header: Uint8Array;
  readonly ct: Uint8Array;
}

export type Parsed<T, E = EnvelopeError> = { ok: true; value: T } | { ok: false; error: E };

function suiteBytes(type: number, s: SuiteIds): Uint8Array {
  return concat(u8(ENVELOPE_VERSION), u8(type), u16(s.kem), u16(s.kdf), u16(s.aead));
}

export function requestHeader(type: MsgType, suite: SuiteIds, senderPk: Uint8Array, enc: Uint8Array): Uint8Array {
  if (!REQUEST_SHAPED.has(type)) throw new RangeError(`message type ${type} is not request-shaped`);
  if (senderPk.length !== PK_LEN || enc.length !== ENC_LEN) throw new RangeError('public key and enc must be 32 octets');
  return concat(suiteBytes(type, suite), senderPk, enc);
}

export function responseHeader(type: MsgType, suite: SuiteIds, enc: Uint8Array): Uint8Array {
  if (REQUEST_SHAPED.has(type)) throw new RangeError(`message type ${type} is not response-shaped`);
  if (enc.length !== ENC_LEN) throw new RangeError('enc must be 32 octets');
  return concat(suiteBytes(type, suite), enc);
}

function parseCommon(b: Uint8Array, type: MsgType, headerLen: number, max: number): Parsed<SuiteIds> {
  if (b.length > max) return { ok: false, error: 'TOO_LARGE' };
  if (b.length < 2) return { ok: false, error: 'TRUNCATED' };
  if (b[0] !== ENVELOPE_VERSION) return { ok: false, error: 'UNSUPPORTED_VERSION' };
  if (b[1] !== type) return { ok: false, error: 'WRONG_TYPE' };
  if (b.length < headerLen + TAG_LEN) return { ok: false, error: 'TRUNCATED' };
  const suite = { kem: readU16(b, 2), kdf: readU16(b, 4), aead: readU16(b, 6) };
  if (!isEnrollSuite(suite)) return { ok: false, error: 'UNSUPPORTED_SUITE' };
  return { ok: true, value: suite };
}

export function parseRequestEnvelope(b: Uint8Array, type: MsgType): Parsed<RequestEnvelope> {
  const c = parseCommon(b, type, REQUEST_HEADER_LEN, MAX_REQUEST_ENVELOPE);
  if (!c.ok) return c;
  return {
    ok: true,
    value: {
      type,
      suite: c.value,
      senderPk: b.slice(8, 8 + PK_LEN),
      enc: b.slice(8 + PK_LEN, REQUEST_HEADER_LEN),
      header: b.slice(0, REQUEST_HEADER_LEN),
      ct: b.slice(REQUEST_HEADER_LEN),
    },
  };
}

export function parseResponseEnvelope(b: Uint8Array, type: MsgType): Parsed<ResponseEnvelope> {
  const c = parseCommon(b, type, RESPONSE_HEADER_LEN, MAX_RESPONSE_ENVELOPE);
  if (!c.ok) return c;
  return {
    ok: true,
    value: {
      type,
      suite: c.value,
      enc: b.slice(8, RESPONSE_HEADER_LEN),
      header: b.slice(0, RESPONSE_HEADER_LEN),
      ct: b.slice(RESPONSE_HEADER_LEN),
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Base32 (RFC 4648 alphabet, no padding), fingerprints, tokens

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32(bytes: Uint8Array): string {
  let out = '';
  let acc = 0;
  let bits = 0;
  for (const b of bytes) {
    acc = ((acc << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += B32[(acc >> (bits - 5)) & 31]!;
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(acc << (5 - bits)) & 31]!;
  return out;
}

/** Inverse of base32() for lengths that are a multiple of 5 octets; null on bad input. */
export function unbase32(text: string): Uint8Array | null {
  if (text.length % 8 !== 0) return null;
  const out = new Uint8Array((text.length * 5) / 8);
  let acc = 0;
  let bits = 0;
  let o = 0;
  for (const ch of text.toUpperCase()) {
    const v = B32.indexOf(ch);
    if (v < 0) return null;
    acc = ((acc << 5) | v) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      out[o++] = (acc >> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  return out;
}

function groups(text: string, n: number, sep: string): string {
  const parts: string[] = [];
  for (let i = 0; i < text.length; i += n) parts.push(text.slice(i, i + n));
  return parts.join(sep);
}

export const LABEL_FINGERPRINT = 'pdmv2 v1 fingerprint';
export const FINGERPRINT_OCTETS = 15;

/** Fingerprint = base32(first 15 octets of SHA-256(label || 0x00 || pk)), 6 groups of 4: "ABCD-EFGH-…". */
export function fingerprint(pk: Uint8Array): string {
  if (pk.length !== PK_LEN) throw new RangeError('public key must be 32 octets');
  const h = sha256(concat(ascii(LABEL_FINGERPRINT), u8(0), pk));
  return groups(base32(h.subarray(0, FINGERPRINT_OCTETS)), 4, '-');
}

/** Canonical fingerprint text from what an administrator typed (case, blanks and dashes free); null if invalid. */
export function normalizeFingerprint(text: string): string | null {
  const compact = text.replace(/[\s-]/g, '').toUpperCase();
  if (!/^[A-Z2-7]{24}$/.test(compact)) return null;
  return groups(compact, 4, '-');
}

export const LABEL_TOKEN = 'pdmv2 v1 token';
export const TOKEN_OCTETS = 15;
/** Canonical token on the wire: 24 lowercase base32 characters. */
export const TOKEN_WIRE_RE = /^[a-z2-7]{24}$/;

export function tokenFromBytes(bytes: Uint8Array): string {
  if (bytes.length !== TOKEN_OCTETS) throw new RangeError('token must be 15 octets');
  return base32(bytes).toLowerCase();
}

/** Display form: "pdt-" and six groups of four. */
export function formatToken(wire: string): string {
  return `pdt-${groups(wire, 4, '-')}`;
}

/** Wire form from a typed or displayed token; null if it is not one. */
export function normalizeToken(text: string): string | null {
  let t = text.trim().toLowerCase();
  if (t.startsWith('pdt-')) t = t.slice(4);
  t = t.replace(/[\s-]/g, '');
  return TOKEN_WIRE_RE.test(t) ? t : null;
}

/** What the primary stores instead of the token: SHA-256(label || 0x00 || token octets). */
export function tokenDigest(wire: string): Uint8Array {
  const bytes = unbase32(wire);
  if (!bytes || bytes.length !== TOKEN_OCTETS) throw new RangeError('not a canonical token');
  return sha256(concat(ascii(LABEL_TOKEN), u8(0), bytes));
}
