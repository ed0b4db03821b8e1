/**
 * The Secondary's side of one enrollment exchange, shared by the QuickJS
 * agent, the load benchmark and the tests: build a sealed request, then
 * authenticate, bind and validate the answer. Every failure is an
 * EnrollClientError with a code and a message meant for the operator;
 * nothing here installs anything. Pure.
 */
import { toHex, type RandomBytes } from '../util/bytes.js';
import { DEFAULT_SUITE, fingerprint, MsgType, type SuiteIds } from './codec.js';
import {
  encodeEnrollRequest,
  parseEnrollResponse,
  plainErrorFromStatus,
  NONCE_OCTETS,
  type EnrollRequest,
  type EnrollResponse,
  type Grant,
  type PlainError,
  type RejectReason,
  type Role,
} from './messages.js';
import { openResponse, SealError, sealRequest, type SuiteProvider } from './seal.js';

export type ClientErrorCode =
  | PlainError
  | RejectReason
  | 'REVOKED'
  | 'RESPONSE_UNAUTHENTICATED'
  | 'RESPONSE_INVALID'
  | 'HTTP_ERROR'
  | 'TRANSPORT';

export class EnrollClientError extends Error {
  readonly code: ClientErrorCode;
  /** Seconds the primary asked to wait, when it said so. */
  readonly retryAfter: number | undefined;
  constructor(code: ClientErrorCode, message: string, retryAfter?: number) {
    super(message);
    this.name = 'EnrollClientError';
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

export interface DeviceIdentity {
  readonly sk: Uint8Array;
  readonly pk: Uint8Array;
}

export interface BuiltRequest {
  readonly envelope: Uint8Array;
  readonly nonce: string;
  readonly request: EnrollRequest;
}

export function buildEnrollRequest(p: {
  readonly device: DeviceIdentity;
  readonly primaryPk: Uint8Array;
  readonly role: Role;
  readonly prefixes: readonly string[];
  readonly token?: string;
  readonly agent?: string;
  /** Unix seconds (the device's best estimate of the primary's time). */
  readonly now: number;
  readonly random: RandomBytes;
  readonly suite?: SuiteIds;
  readonly suites?: SuiteProvider;
}): BuiltRequest {
  const nonce = toHex(p.random(NONCE_OCTETS));
  const request: EnrollRequest = {
    role: p.role,
    prefixes: p.prefixes,
    ts: Math.floor(p.now),
    nonce,
    ...(p.token ? { token: p.token } : {}),
    ...(p.agent ? { agent: p.agent } : {}),
  };
  const envelope = sealRequest({
    type: MsgType.EnrollRequest,
    suite: p.suite ?? DEFAULT_SUITE,
    senderSk: p.device.sk,
    senderPk: p.device.pk,
    recipientPk: p.primaryPk,
    plaintext: encodeEnrollRequest(request),
    random: p.random,
    ...(p.suites ? { suites: p.suites } : {}),
  });
  return { envelope, nonce, request };
}

const PLAIN_TEXT: Record<PlainError, string> = {
  MALFORMED: 'the primary could not parse the request',
  UNSUPPORTED_VERSION: 'the primary does not support this protocol version',
  UNSUPPORTED_SUITE: 'the primary does not support the HPKE suite of the request',
  UNAUTHENTICATED:
    'the primary could not open the request: the configured primary public key is probably wrong (or the request was altered in transit)',
  PAIRING_REFUSED: 'the primary refused the pairing',
  NOT_FOUND: 'the primary URL is wrong (no enrollment endpoint there)',
  METHOD_NOT_ALLOWED: 'the primary URL is wrong (method not allowed)',
  TOO_LARGE: 'the request is larger than the primary accepts',
  RATE_LIMITED: 'the primary is rate limiting this source; retrying later',
  INTERNAL: 'the primary had an internal error',
  UNAVAILABLE: 'the primary is temporarily unavailable',
};

/** The operator-facing text of a sealed rejection. */
export function describeRejection(reason: RejectReason, detail: string): string {
  const base: Record<RejectReason, string> = {
    BAD_REQUEST: 'the primary rejected the request as malformed',
    UNSUPPORTED_VERSION: 'the primary does not support this protocol version',
    STALE_REQUEST: "the request's timestamp is outside the primary's replay window (clock wrong?)",
    REPLAY: 'the primary has already seen this request (replayed request)',
    TOKEN_UNKNOWN: 'the enrollment token is not known to the primary',
    TOKEN_USED: 'the enrollment token has already been used by another device',
    TOKEN_EXPIRED: 'the enrollment token has expired',
    TOKEN_SCOPE: 'the enrollment token does not cover this role',
    ROLE_MISMATCH: 'the device is authorised for another role',
    PREFIX_NOT_AUTHORISED: "a requested prefix is outside the device's authorisation",
    PENDING_LIMIT: 'the primary has too many devices waiting for approval',
    INTERNAL: 'the primary had an internal error',
  };
  return detail ? `${base[reason]}: ${detail}` : base[reason];
}

/** Maps a non-200 HTTP answer (plain error) to an EnrollClientError. */
export function plainError(status: number, body: string, retryAfter?: number): EnrollClientError {
  const code = (/^[A-Z_]{3,40}$/.test(body.trim()) ? body.trim() : null) as PlainError | null;
  const known = code && code in PLAIN_TEXT ? code : plainErrorFromStatus(status);
  if (known) return new EnrollClientError(known, `${PLAIN_TEXT[known]} (HTTP ${status})`, retryAfter);
  return new EnrollClientError('HTTP_ERROR', `unexpected HTTP status ${status} from the primary`, retryAfter);
}

/** Structural checks of a grant against what this device is and asked for. Returns a problem or null. */
export function checkGrant(g: Grant, expect: { fingerprint: string; role: Role; prefixes: readonly string[] }): string | null {
  if (g.fingerprint !== expect.fingerprint) return `grant is for device ${g.fingerprint}, not ${expect.fingerprint}`;
  if (g.role !== expect.role) return `grant is for role ${g.role}, ${expect.role} was requested`;
  if (expect.prefixes.length > 0) {
    for (const p of g.prefixes) if (!expect.prefixes.includes(p)) return `grant names prefix ${p}, which was not requested`;
  }
  for (const pr of g.pairings) {
    for (const k of pr.keys) {
      if (g.role === 'client') {
        for (const s of k.secrets ?? []) {
          if (!g.prefixes.includes(s.prefix)) return `grant carries a secret for ${s.prefix}, outside the granted prefixes`;
        }
      }
    }
  }
  return null;
}

/**
 * Opens and validates the primary's answer to `sent`. Returns the response;
 * throws EnrollClientError for a response that is not authentic, not for
 * this request, or malformed. Rejections and revocations are returned (the
 * caller decides what they mean), not thrown.
 */
export function readEnrollResponse(p: {
  readonly body: Uint8Array;
  readonly sent: BuiltRequest;
  readonly device: DeviceIdentity;
  readonly primaryPk: Uint8Array;
  readonly suites?: SuiteProvider;
}): EnrollResponse {
  let plaintext: Uint8Array;
  try {
    plaintext = openResponse({
      type: MsgType.EnrollResponse,
      envelope: p.body,
      request: p.sent.envelope,
      recipientSk: p.device.sk,
      senderPk: p.primaryPk,
      ...(p.suites ? { suites: p.suites } : {}),
    });
  } catch (e) {
    if (e instanceof SealError) {
      throw new EnrollClientError(
        'RESPONSE_UNAUTHENTICATED',
        `response rejected (${e.code}): not sealed by the configured primary key for this request, or altered in transit; nothing installed`,
      );
    }
    throw e;
  }
  const parsed = parseEnrollResponse(plaintext);
  if (!parsed.ok) throw new EnrollClientError('RESPONSE_INVALID', `invalid response from the primary: ${parsed.message}`);
  const r = parsed.value;
  if (r.nonce !== p.sent.nonce) throw new EnrollClientError('RESPONSE_INVALID', 'response nonce does not match the request');
  if (r.status === 'granted') {
    const problem = checkGrant(r.grant, {
      fingerprint: fingerprint(p.device.pk),
      role: p.sent.request.role,
      prefixes: p.sent.request.prefixes,
    });
    if (problem) throw new EnrollClientError('RESPONSE_INVALID', `invalid grant: ${problem}`);
  }
  return r;
}
