/**
 * The enrollment endpoint (docs/PROTOCOL.md §7.5): open the sealed
 * request, check freshness and replay, decide (pending, granted, revoked,
 * rejected) inside one SQLite transaction, seal the answer to the device and
 * bind it to the request.
 *
 * No existence oracle: a request that does not open under the claimed device
 * key gets the same plain UNAUTHENTICATED whether or not that device exists,
 * and every answer about a device is sealed to that device's key.
 */
import { fromHex, type RandomBytes } from '../../core/src/bytes.js';
import { fingerprint, MsgType } from '../../core/src/enroll-codec.js';
import { MAX_RESPONSE_PLAINTEXT } from '../../core/src/enroll-codec.js';
import {
  encodeEnrollResponse,
  parseEnrollRequest,
  parseEnrollResponse,
  PLAIN_ERRORS,
  type EnrollRequest,
  type EnrollResponse,
  type Grant,
  type GrantKey,
  type GrantPairing,
  type PlainError,
  type RejectReason,
} from '../../core/src/enroll-messages.js';
import { clientKey, generationsToIssue, nextRenewal, serverKey } from '../../core/src/enroll-schedule.js';
import { openRequest, SealError, sealResponse } from '../../core/src/enroll-seal.js';
import { fastSuites } from './fast-suite.js';
import { secretDigest, type Device, type Store } from './store.js';

export interface EnrollConfig {
  /** Accepted |request ts − primary time|, seconds. */
  readonly window: number;
  /** Longest time between renewals, seconds (bounds how long a revocation takes to reach a device). */
  readonly renewInterval: number;
  /** retry_after for pending devices. */
  readonly pendingRetry: number;
  /** Devices waiting for approval, at most. */
  readonly maxPending: number;
}

export const DEFAULT_ENROLL_CONFIG: EnrollConfig = { window: 300, renewInterval: 3600, pendingRetry: 30, maxPending: 1000 };

export interface Identity {
  readonly sk: Uint8Array;
  readonly pk: Uint8Array;
  readonly fingerprint: string;
}

export interface HttpAnswer {
  readonly status: number;
  readonly body: Uint8Array | string;
  readonly type: string;
  readonly headers?: Record<string, string>;
}

export type Logger = (event: string, fields: Record<string, unknown>) => void;

export function plainAnswer(code: PlainError, headers?: Record<string, string>): HttpAnswer {
  return { status: PLAIN_ERRORS[code], body: `${code}\n`, type: 'text/plain; charset=us-ascii', ...(headers ? { headers } : {}) };
}

class IssuedConflict extends Error {}
/** A grant the device could not accept (docs/PROTOCOL.md limits): thrown inside the transaction so that nothing commits. */
class GrantOutOfLimits extends Error {}

/**
 * Why the device's parser would refuse this grant, or null. Runs the very
 * parser the agent runs on the very octets it would receive (with the
 * longest ts and nonce), and the envelope size limit.
 */
export function grantProblem(grant: Grant): string | null {
  const plaintext = encodeEnrollResponse({ status: 'granted', ts: 0xffffffff, nonce: ZERO_NONCE, grant });
  if (plaintext.length > MAX_RESPONSE_PLAINTEXT) {
    return `the grant (${grant.pairings.length} pairings, ${grant.prefixes.length} prefixes) would take ${plaintext.length} octets, more than a response may (${MAX_RESPONSE_PLAINTEXT})`;
  }
  const parsed = parseEnrollResponse(plaintext);
  return parsed.ok ? null : `the grant breaks a protocol limit (${grant.pairings.length} pairings): ${parsed.message}`;
}

type Decision =
  | { readonly status: 'pending'; readonly fingerprint: string; readonly retry_after: number }
  | { readonly status: 'granted'; readonly grant: Grant }
  | { readonly status: 'revoked' }
  | { readonly status: 'rejected'; readonly reason: RejectReason; readonly message: string; readonly retry_after?: number };

const ZERO_NONCE = '0'.repeat(32);

export class EnrollService {
  constructor(
    private readonly store: Store,
    private readonly id: Identity,
    private readonly config: EnrollConfig,
    private readonly now: () => number,
    private readonly random: RandomBytes,
    private readonly log: Logger = () => {},
  ) {}

  /** `source`: the client's address (logged, recorded); `sourceKey`: what per-source limits count by. */
  handle(envelope: Uint8Array, source: string, sourceKey: string = source): HttpAnswer {
    void sourceKey;
    let opened;
    try {
      opened = openRequest(MsgType.EnrollRequest, envelope, this.id.sk, fastSuites);
    } catch (e) {
      if (!(e instanceof SealError)) throw e;
      const code: PlainError =
        e.code === 'UNAUTHENTICATED'
          ? 'UNAUTHENTICATED'
          : e.code === 'TOO_LARGE'
            ? 'TOO_LARGE'
            : e.code === 'UNSUPPORTED_VERSION'
              ? 'UNSUPPORTED_VERSION'
              : e.code === 'UNSUPPORTED_SUITE'
                ? 'UNSUPPORTED_SUITE'
                : 'MALFORMED';
      this.log('enroll-plain-error', { source, code });
      return plainAnswer(code);
    }
    const now = this.now();
    const devicePk = opened.senderPk;
    const reply = (nonce: string, d: Decision): HttpAnswer => {
      const response = { ...d, ts: now, nonce } as EnrollResponse;
      const body = sealResponse({
        type: MsgType.EnrollResponse,
        request: envelope,
        senderSk: this.id.sk,
        recipientPk: devicePk,
        plaintext: encodeEnrollResponse(response),
        random: this.random,
        suites: fastSuites,
      });
      return { status: 200, body, type: 'application/octet-stream' };
    };
    const reject = (reason: RejectReason, message: string, retry?: number): Decision => ({
      status: 'rejected',
      reason,
      message: message.slice(0, 200),
      ...(retry ? { retry_after: retry } : {}),
    });

    const parsed = parseEnrollRequest(opened.plaintext);
    if (!parsed.ok) {
      const m = /"nonce"\s*:\s*"([0-9a-f]{32})"/.exec(String.fromCharCode(...opened.plaintext.subarray(0, 4096)));
      return reply(m?.[1] ?? ZERO_NONCE, reject(parsed.error, parsed.message));
    }
    const req = parsed.value;
    if (Math.abs(req.ts - now) > this.config.window) {
      this.log('enroll-stale', { source, fingerprint: fingerprint(devicePk), skew: req.ts - now });
      return reply(req.nonce, reject('STALE_REQUEST', `request time ${req.ts}, primary time ${now}, window ${this.config.window} s`));
    }
    let decision: Decision;
    try {
      decision = this.store.tx(() => this.decide(devicePk, req, now, source, reject));
    } catch (e) {
      if (e instanceof GrantOutOfLimits) {
        this.log('grant-out-of-limits', { fingerprint: fingerprint(devicePk), error: e.message });
        return reply(req.nonce, reject('INTERNAL', e.message));
      }
      if (e instanceof IssuedConflict) {
        this.log('issued-conflict', { fingerprint: fingerprint(devicePk), error: e.message });
        return reply(req.nonce, reject('INTERNAL', 'refusing to issue a secret that differs from one issued before'));
      }
      const code = (e as { code?: string }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') return plainAnswer('UNAVAILABLE', { 'Retry-After': '5' });
      throw e;
    }
    return reply(req.nonce, decision);
  }

  private decide(
    pk: Uint8Array,
    req: EnrollRequest,
    now: number,
    source: string,
    reject: (r: RejectReason, m: string, retry?: number) => Decision,
  ): Decision {
    const s = this.store;
    const fp = fingerprint(pk);
    if (!s.rememberNonce(pk, fromHex(req.nonce), req.ts + this.config.window + 1)) {
      this.log('enroll-replay', { source, fingerprint: fp });
      return reject('REPLAY', 'this request was seen before');
    }
    let dev = s.deviceByPk(pk);
    const seen = (status: string, granted = false): void => {
      if (dev) s.noteSeen(dev.id, { now, source, status, requested: req.prefixes, role: req.role, granted });
    };
    if (dev?.status === 'revoked') {
      seen('revoked');
      return { status: 'revoked' };
    }

    if (req.token !== undefined) {
      const tok = s.tokenByWire(req.token);
      if (!tok) {
        seen('token-unknown');
        return reject('TOKEN_UNKNOWN', 'no such token');
      }
      const mine = dev !== null && tok.usedBy === dev.id;
      if (!mine) {
        if (tok.usedBy !== null) {
          seen('token-used');
          this.log('token-reuse', { source, fingerprint: fp, token: tok.id });
          return reject('TOKEN_USED', `token ${tok.id} was used at ${tok.usedAt}`);
        }
        if (tok.expires < now) {
          seen('token-expired');
          return reject('TOKEN_EXPIRED', `token ${tok.id} expired at ${tok.expires}`);
        }
        if (tok.role !== req.role) {
          seen('token-scope');
          return reject('TOKEN_SCOPE', `token ${tok.id} is for the ${tok.role} role`);
        }
        if (dev?.status === 'approved' && dev.role !== tok.role) {
          seen('role-mismatch');
          return reject('ROLE_MISMATCH', `device is approved for the ${dev.role} role`);
        }
        const already = dev?.status === 'approved' ? dev.prefixes : [];
        const outside = req.prefixes.filter((p) => !tok.prefixes.includes(p) && !already.includes(p));
        if (outside.length > 0) {
          seen('prefix-not-authorised');
          return reject('PREFIX_NOT_AUTHORISED', `${outside.join(', ')} not in the token's scope (${tok.prefixes.join(', ') || 'none'})`);
        }
        const prefixes = [...already, ...tok.prefixes.filter((p) => !already.includes(p))];
        const via = `token:${tok.id}`;
        if (!dev) {
          dev = s.insertDevice({ pk, fingerprint: fp, role: tok.role, status: 'approved', prefixes, requested: req.prefixes, mode: tok.mode, via, now });
        } else {
          s.setAuthorisation(dev.id, { status: 'approved', role: tok.role, prefixes, mode: tok.mode, via, now });
        }
        if (!s.useToken(tok.id, dev.id, now)) return reject('TOKEN_USED', `token ${tok.id} was used concurrently`);
        s.audit(now, 'token-use', fp, { token: tok.id, source });
        this.log('enroll-token', { source, fingerprint: fp, token: tok.id });
        dev = s.deviceById(dev.id)!;
      }
    }

    if (!dev) {
      if (s.pendingCount() >= this.config.maxPending) {
        this.log('pending-limit', { source, fingerprint: fp });
        return reject('PENDING_LIMIT', 'too many devices are waiting for approval', 300);
      }
      dev = s.insertDevice({ pk, fingerprint: fp, role: req.role, status: 'pending', prefixes: [], requested: req.prefixes, mode: 'encrypted', via: null, now });
      s.audit(now, 'enroll-pending', fp, { role: req.role, prefixes: req.prefixes, source });
      this.log('enroll-pending', { source, fingerprint: fp, role: req.role, prefixes: req.prefixes });
    }
    if (dev.status === 'pending') {
      seen('pending');
      return { status: 'pending', fingerprint: fp, retry_after: this.config.pendingRetry };
    }
    if (dev.role !== req.role) {
      seen('role-mismatch');
      return reject('ROLE_MISMATCH', `device is approved for the ${dev.role} role`);
    }
    const outside = req.prefixes.filter((p) => !dev!.prefixes.includes(p));
    if (outside.length > 0) {
      seen('prefix-not-authorised');
      return reject('PREFIX_NOT_AUTHORISED', `${outside.join(', ')} (authorised: ${dev.prefixes.join(', ') || 'none'})`);
    }
    const grant = this.buildGrant(dev, req.prefixes.length > 0 ? req.prefixes : dev.prefixes, now);
    const problem = grantProblem(grant);
    if (problem !== null) throw new GrantOutOfLimits(problem);
    seen('granted', true);
    return { status: 'granted', grant };
  }

  /** Secrets for `dev`, recorded in `issued` (same transaction). */
  buildGrant(dev: Device, prefixes: readonly string[], now: number): Grant {
    const s = this.store;
    const pairings: GrantPairing[] = [];
    let renew = now + this.config.renewInterval;
    let expires = 0;
    for (const p of s.activePairings(dev.role)) {
      const own = dev.role === 'client' ? prefixes.filter((x) => p.clientPrefixes.includes(x)) : [];
      if (dev.role === 'client' && own.length === 0) continue;
      const windows = generationsToIssue(p, now);
      const keys: GrantKey[] = [];
      if (dev.mode === 'encrypted') {
        for (const w of windows) {
          const key = dev.role === 'client' ? clientKey(p.pms, w, own) : serverKey(p.pms, w);
          const slots = key.secrets ? key.secrets.map((x) => [x.prefix, x.secret] as const) : [['*', key.sgs!] as const];
          for (const [prefix, secret] of slots) {
            if (!s.recordIssued(dev.id, p.id, w.generation, prefix, secretDigest(secret), now)) {
              throw new IssuedConflict(`pairing ${p.id} generation ${w.generation} prefix ${prefix}`);
            }
          }
          keys.push(key);
          expires = Math.max(expires, w.not_after);
        }
        renew = Math.min(renew, nextRenewal(p, windows, now, this.config.renewInterval, Math.min(10, this.config.renewInterval)));
      }
      pairings.push({ id: p.id, aead: p.dataAead, peer_prefixes: dev.role === 'client' ? p.serverPrefixes : p.clientPrefixes, keys });
    }
    if (expires === 0) expires = now + 2 * this.config.renewInterval;
    return {
      fingerprint: dev.fingerprint,
      role: dev.role,
      mode: dev.mode,
      prefixes: [...prefixes],
      issued: now,
      expires,
      renew_after: Math.min(renew, expires),
      pairings,
    };
  }
}
