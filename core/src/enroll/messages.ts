/**
 * Plaintexts of the enrollment exchange (docs/PROTOCOL.md §7.5):
 * the request a Secondary sends and the four kinds of answer. Builders
 * produce ASCII JSON; parsers validate every field they use and return
 * canonical values (prefixes in RFC 5952 form). Pure.
 */
import { formatPrefix, parsePrefix } from '../wire/addr.js';
import { normalizeFingerprint, TOKEN_WIRE_RE } from './codec.js';
import {
  FieldError,
  hexField,
  isObj,
  jsonToAscii,
  optInt,
  optStr,
  parseJsonObject,
  reqArray,
  reqEnum,
  reqInt,
  reqStr,
  type Obj,
} from './json.js';

export const PROTOCOL_VERSION = 1;
export const ROLES = ['client', 'server'] as const;
export type Role = (typeof ROLES)[number];
export const MODES = ['encrypted', 'clear', 'v1'] as const;
export type DataMode = (typeof MODES)[number];
export const DATA_AEADS = [1, 2] as const;

export const NONCE_OCTETS = 16;
export const MAX_TIME = 0xffffffff; // u32 seconds: 2106
export const MAX_REQUEST_PREFIXES = 32;
export const MAX_GRANT_PAIRINGS = 16;
export const MAX_GRANT_KEYS = 4;
export const MAX_GRANT_SECRETS = 64;
export const MAX_PEER_PREFIXES = 256;
export const MAX_MESSAGE_TEXT = 200;

/** Rejections sent sealed to the device (the sender was authenticated). */
export const REJECT_REASONS = [
  'BAD_REQUEST',
  'UNSUPPORTED_VERSION',
  'STALE_REQUEST',
  'REPLAY',
  'TOKEN_UNKNOWN',
  'TOKEN_USED',
  'TOKEN_EXPIRED',
  'TOKEN_SCOPE',
  'ROLE_MISMATCH',
  'PREFIX_NOT_AUTHORISED',
  'PENDING_LIMIT',
  'INTERNAL',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

/** Answers in clear (HTTP status + text body): nothing about any device, the sender is unknown. */
export const PLAIN_ERRORS = {
  MALFORMED: 400,
  UNSUPPORTED_VERSION: 400,
  UNSUPPORTED_SUITE: 400,
  UNAUTHENTICATED: 401,
  PAIRING_REFUSED: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  TOO_LARGE: 413,
  RATE_LIMITED: 429,
  INTERNAL: 500,
  UNAVAILABLE: 503,
} as const;
export type PlainError = keyof typeof PLAIN_ERRORS;

export function plainErrorFromStatus(status: number): PlainError | null {
  for (const [k, v] of Object.entries(PLAIN_ERRORS)) if (v === status) return k as PlainError;
  return null;
}

/** A prefix in canonical text form ("2001:db8::/32"), or FieldError. */
export function canonicalPrefix(text: unknown, where: string): string {
  if (typeof text !== 'string' || text.length > 43) throw new FieldError(where, 'must be an IPv6 prefix');
  try {
    return formatPrefix(parsePrefix(text));
  } catch (e) {
    throw new FieldError(where, (e as Error).message);
  }
}

export function prefixList(o: Obj, key: string, max: number): string[] {
  const arr = reqArray(o, key, max);
  const out: string[] = [];
  arr.forEach((p, i) => {
    const c = canonicalPrefix(p, `${key}[${i}]`);
    if (out.includes(c)) throw new FieldError(`${key}[${i}]`, `duplicate prefix ${c}`);
    out.push(c);
  });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Request

export interface EnrollRequest {
  readonly role: Role;
  readonly prefixes: readonly string[];
  readonly ts: number;
  /** 32 lowercase hex digits. */
  readonly nonce: string;
  readonly token?: string;
  readonly agent?: string;
}

export function encodeEnrollRequest(r: EnrollRequest): Uint8Array {
  const o: Obj = { v: PROTOCOL_VERSION, role: r.role, prefixes: r.prefixes, ts: r.ts, nonce: r.nonce };
  if (r.token !== undefined) o.token = r.token;
  if (r.agent !== undefined) o.agent = r.agent;
  return jsonToAscii(o);
}

export type MessageResult<T> = { ok: true; value: T } | { ok: false; error: 'BAD_REQUEST' | 'UNSUPPORTED_VERSION'; message: string };

function versioned(o: Obj): void {
  if (o.v !== PROTOCOL_VERSION) throw new VersionError();
}

class VersionError extends Error {}

function guard<T>(f: () => T): MessageResult<T> {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    if (e instanceof VersionError) return { ok: false, error: 'UNSUPPORTED_VERSION', message: `only protocol version ${PROTOCOL_VERSION} is supported` };
    if (e instanceof FieldError) return { ok: false, error: 'BAD_REQUEST', message: e.message };
    throw e;
  }
}

export function parseEnrollRequest(bytes: Uint8Array): MessageResult<EnrollRequest> {
  return guard(() => {
    const o = parseJsonObject(bytes);
    versioned(o);
    const req: { -readonly [K in keyof EnrollRequest]: EnrollRequest[K] } = {
      role: reqEnum(o, 'role', ROLES),
      prefixes: prefixList(o, 'prefixes', MAX_REQUEST_PREFIXES),
      ts: reqInt(o, 'ts', 0, MAX_TIME),
      nonce: reqStr(o, 'nonce', NONCE_OCTETS * 2, hexField(NONCE_OCTETS)),
    };
    const token = optStr(o, 'token', 24, TOKEN_WIRE_RE);
    if (token !== undefined) req.token = token;
    const agent = optStr(o, 'agent', 64, /^[\x20-\x7e]*$/);
    if (agent !== undefined) req.agent = agent;
    return req;
  });
}

// ---------------------------------------------------------------------------------------------
// Responses

export interface GrantSecret {
  readonly prefix: string;
  /** 64 lowercase hex digits. */
  readonly secret: string;
}

export interface GrantKey {
  readonly generation: number;
  readonly not_before: number;
  readonly not_after: number;
  /** Client role: CS(P) for each authorised prefix. */
  readonly secrets?: readonly GrantSecret[];
  /** Server role: the SGS of this generation (64 hex digits). */
  readonly sgs?: string;
}

export interface GrantPairing {
  /** Pairing id, 16 hex digits. */
  readonly id: string;
  /** Data-path AEAD (1 AES-128-GCM, 2 AES-256-GCM). */
  readonly aead: number;
  /** Client role: the peer's server prefixes; server role: the client prefixes the Primary Client authorised. */
  readonly peer_prefixes: readonly string[];
  readonly keys: readonly GrantKey[];
}

export interface Grant {
  readonly fingerprint: string;
  readonly role: Role;
  readonly mode: DataMode;
  /** The device's own authorised prefixes. */
  readonly prefixes: readonly string[];
  readonly issued: number;
  readonly expires: number;
  readonly renew_after: number;
  readonly pairings: readonly GrantPairing[];
}

export type EnrollResponse =
  | { readonly status: 'pending'; readonly ts: number; readonly nonce: string; readonly fingerprint: string; readonly retry_after: number }
  | { readonly status: 'granted'; readonly ts: number; readonly nonce: string; readonly grant: Grant }
  | { readonly status: 'revoked'; readonly ts: number; readonly nonce: string }
  | {
      readonly status: 'rejected';
      readonly ts: number;
      readonly nonce: string;
      readonly reason: RejectReason;
      readonly message: string;
      readonly retry_after?: number;
    };

export function encodeEnrollResponse(r: EnrollResponse): Uint8Array {
  return jsonToAscii({ v: PROTOCOL_VERSION, ...r });
}

const HEX64 = hexField(32);
const PAIRING_ID = /^[0-9a-f]{16}$/;

export function parseGrantKey(o: unknown, role: Role, where: string): GrantKey {
  if (!isObj(o)) throw new FieldError(where, 'must be an object');
  const generation = reqInt(o, 'generation', 0, 0xffffffff, `${where}.generation`);
  const not_before = reqInt(o, 'not_before', 0, MAX_TIME, `${where}.not_before`);
  const not_after = reqInt(o, 'not_after', 0, MAX_TIME, `${where}.not_after`);
  if (not_after <= not_before) throw new FieldError(`${where}.not_after`, 'must be after not_before');
  if (role === 'server') {
    if (o.secrets !== undefined) throw new FieldError(`${where}.secrets`, 'not allowed for the server role');
    return { generation, not_before, not_after, sgs: reqStr(o, 'sgs', 64, HEX64, `${where}.sgs`) };
  }
  if (o.sgs !== undefined) throw new FieldError(`${where}.sgs`, 'not allowed for the client role');
  const secrets = reqArray(o, 'secrets', MAX_GRANT_SECRETS, `${where}.secrets`).map((s, i) => {
    const w = `${where}.secrets[${i}]`;
    if (!isObj(s)) throw new FieldError(w, 'must be an object');
    return { prefix: canonicalPrefix(s.prefix, `${w}.prefix`), secret: reqStr(s, 'secret', 64, HEX64, `${w}.secret`) };
  });
  return { generation, not_before, not_after, secrets };
}

export function parseGrant(o: unknown, where = 'grant'): Grant {
  if (!isObj(o)) throw new FieldError(where, 'must be an object');
  const fp = normalizeFingerprint(reqStr(o, 'fingerprint', 29, undefined, `${where}.fingerprint`));
  if (fp === null) throw new FieldError(`${where}.fingerprint`, 'is not a fingerprint');
  const role = reqEnum(o, 'role', ROLES, `${where}.role`);
  const issued = reqInt(o, 'issued', 0, MAX_TIME, `${where}.issued`);
  const expires = reqInt(o, 'expires', 0, MAX_TIME, `${where}.expires`);
  const renew_after = reqInt(o, 'renew_after', 0, MAX_TIME, `${where}.renew_after`);
  if (expires < issued) throw new FieldError(`${where}.expires`, 'is before issued');
  const pairings = reqArray(o, 'pairings', MAX_GRANT_PAIRINGS, `${where}.pairings`).map((p, i) => {
    const w = `${where}.pairings[${i}]`;
    if (!isObj(p)) throw new FieldError(w, 'must be an object');
    const keys = reqArray(p, 'keys', MAX_GRANT_KEYS, `${w}.keys`).map((k, j) => parseGrantKey(k, role, `${w}.keys[${j}]`));
    return {
      id: reqStr(p, 'id', 16, PAIRING_ID, `${w}.id`),
      aead: reqInt(p, 'aead', 1, 2, `${w}.aead`),
      peer_prefixes: prefixList(p, 'peer_prefixes', MAX_PEER_PREFIXES),
      keys,
    };
  });
  return {
    fingerprint: fp,
    role,
    mode: reqEnum(o, 'mode', MODES, `${where}.mode`),
    prefixes: prefixList(o, 'prefixes', MAX_REQUEST_PREFIXES),
    issued,
    expires,
    renew_after,
    pairings,
  };
}

export function parseEnrollResponse(bytes: Uint8Array): MessageResult<EnrollResponse> {
  return guard((): EnrollResponse => {
    const o = parseJsonObject(bytes);
    versioned(o);
    const status = reqEnum(o, 'status', ['pending', 'granted', 'revoked', 'rejected'] as const);
    const ts = reqInt(o, 'ts', 0, MAX_TIME);
    const nonce = reqStr(o, 'nonce', NONCE_OCTETS * 2, hexField(NONCE_OCTETS));
    switch (status) {
      case 'pending': {
        const fp = normalizeFingerprint(reqStr(o, 'fingerprint', 29));
        if (fp === null) throw new FieldError('fingerprint', 'is not a fingerprint');
        return { status, ts, nonce, fingerprint: fp, retry_after: reqInt(o, 'retry_after', 1, 86400) };
      }
      case 'granted':
        return { status, ts, nonce, grant: parseGrant(o.grant) };
      case 'revoked':
        return { status, ts, nonce };
      case 'rejected': {
        const r: { -readonly [K in keyof Extract<EnrollResponse, { status: 'rejected' }>]: unknown } = {
          status,
          ts,
          nonce,
          reason: reqEnum(o, 'reason', REJECT_REASONS),
          message: reqStr(o, 'message', MAX_MESSAGE_TEXT, /^[\x20-\x7e]*$/),
        };
        const retry = optInt(o, 'retry_after', 1, 86400);
        if (retry !== undefined) r.retry_after = retry;
        return r as EnrollResponse;
      }
    }
  });
}
