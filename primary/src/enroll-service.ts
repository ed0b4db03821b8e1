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
import { fromHex, type RandomBytes } from '../../core/src/util/bytes.js';
import { fingerprint, MsgType } from '../../core/src/enroll/codec.js';
import { MAX_RESPONSE_PLAINTEXT } from '../../core/src/enroll/codec.js';
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
} from '../../core/src/enroll/messages.js';
import { clientKey, generationsToIssue, nextRenewal, serverKey, type Schedule } from '../../core/src/enroll/schedule.js';
import { openRequest, SealError, sealResponse } from '../../core/src/enroll/seal.js';
import { fastSuites } from './fast-suite.js';
import { StoreUnavailable } from './sql.js';
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
  /** Devices waiting for approval that one source (address or /64, see server.ts) may have created, at most. */
  readonly maxPendingPerSource: number;
  /** A pending request expires this long after it was made (s): it stops counting and is forgotten. */
  readonly pendingTtl: number;
}

export const DEFAULT_ENROLL_CONFIG: EnrollConfig = {
  window: 300,
  renewInterval: 3600,
  pendingRetry: 30,
  maxPending: 1000,
  maxPendingPerSource: 20,
  pendingTtl: 7 * 86400,
};

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
/** A decision whose transaction must not commit (a lost race): carries the answer to give after the rollback. */
class RollBack extends Error {
  constructor(readonly decision: Decision) {
    super('roll back');
  }
}
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

/**
 * issued, expires and renew_after of a grant made at `now` carrying keys of
 * the pairings with `schedules` (docs/PROTOCOL.md 7.6). Also what the fleet
 * benchmark feeds the agent's renewal schedule with.
 */
export function grantTiming(schedules: readonly Schedule[], now: number, renewInterval: number): { issued: number; expires: number; renew_after: number } {
  let renew = now + renewInterval;
  let expires = 0;
  for (const p of schedules) {
    const windows = generationsToIssue(p, now);
    for (const w of windows) expires = Math.max(expires, w.not_after);
    renew = Math.min(renew, nextRenewal(p, windows, now, renewInterval, Math.min(10, renewInterval)));
  }
  if (expires === 0) expires = now + 2 * renewInterval;
  return { issued: now, expires, renew_after: Math.min(renew, expires) };
}

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
  async handle(envelope: Uint8Array, source: string, sourceKey: string = source): Promise<HttpAnswer> {
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
      decision = await this.store.tx((s) => this.decide(s, devicePk, req, now, source, sourceKey, reject));
    } catch (e) {
      if (e instanceof RollBack) return reply(req.nonce, e.decision);
      if (e instanceof GrantOutOfLimits) {
        this.log('grant-out-of-limits', { fingerprint: fingerprint(devicePk), error: e.message });
        return reply(req.nonce, reject('INTERNAL', e.message));
      }
      if (e instanceof IssuedConflict) {
        this.log('issued-conflict', { fingerprint: fingerprint(devicePk), error: e.message });
        return reply(req.nonce, reject('INTERNAL', 'refusing to issue a secret that differs from one issued before'));
      }
      if (e instanceof StoreUnavailable) {
        this.log('store-unavailable', { source, reason: e.reason, error: e.message });
        return plainAnswer('UNAVAILABLE', { 'Retry-After': String(e.retryAfter) });
      }
      throw e;
    }
    return reply(req.nonce, decision);
  }

  private async decide(
    s: Store,
    pk: Uint8Array,
    req: EnrollRequest,
    now: number,
    source: string,
    sourceKey: string,
    reject: (r: RejectReason, m: string, retry?: number) => Decision,
  ): Promise<Decision> {
    const fp = fingerprint(pk);
    if (!(await s.rememberNonce(pk, fromHex(req.nonce), req.ts + this.config.window + 1))) {
      this.log('enroll-replay', { source, fingerprint: fp });
      return reject('REPLAY', 'this request was seen before');
    }
    let dev = await s.deviceByPk(pk);
    const seen = async (status: string, granted = false): Promise<void> => {
      if (dev) await s.noteSeen(dev.id, { now, source, status, requested: req.prefixes, role: req.role, granted });
    };
    if (dev?.status === 'revoked') {
      await seen('revoked');
      return { status: 'revoked' };
    }
    if (dev?.status === 'pending' && dev.created < now - this.config.pendingTtl) {
      // An expired request: forgotten, and this one is a new request (counted against the caps again).
      await s.deletePending(dev.id);
      dev = null;
    }

    if (req.token !== undefined) {
      const tok = await s.tokenByWire(req.token);
      if (!tok) {
        await seen('token-unknown');
        return reject('TOKEN_UNKNOWN', 'no such token');
      }
      const mine = dev !== null && tok.usedBy === dev.id;
      if (!mine) {
        if (tok.usedBy !== null) {
          await seen('token-used');
          this.log('token-reuse', { source, fingerprint: fp, token: tok.id });
          return reject('TOKEN_USED', `token ${tok.id} was used at ${tok.usedAt}`);
        }
        if (tok.expires < now) {
          await seen('token-expired');
          return reject('TOKEN_EXPIRED', `token ${tok.id} expired at ${tok.expires}`);
        }
        if (tok.role !== req.role) {
          await seen('token-scope');
          return reject('TOKEN_SCOPE', `token ${tok.id} is for the ${tok.role} role`);
        }
        if (dev?.status === 'approved' && dev.role !== tok.role) {
          await seen('role-mismatch');
          return reject('ROLE_MISMATCH', `device is approved for the ${dev.role} role`);
        }
        const already = dev?.status === 'approved' ? dev.prefixes : [];
        const outside = req.prefixes.filter((p) => !tok.prefixes.includes(p) && !already.includes(p));
        if (outside.length > 0) {
          await seen('prefix-not-authorised');
          return reject('PREFIX_NOT_AUTHORISED', `${outside.join(', ')} not in the token's scope (${tok.prefixes.join(', ') || 'none'})`);
        }
        const prefixes = [...already, ...tok.prefixes.filter((p) => !already.includes(p))];
        const via = `token:${tok.id}`;
        if (!dev) {
          dev = await s.insertDevice({ pk, fingerprint: fp, role: tok.role, status: 'approved', prefixes, requested: req.prefixes, mode: tok.mode, via, source: sourceKey, now });
        } else {
          await s.setAuthorisation(dev.id, { status: 'approved', role: tok.role, prefixes, mode: tok.mode, via, now });
        }
        // Another instance spent it meanwhile: nothing of this transaction (the approval above) may commit.
        if (!(await s.useToken(tok.id, dev.id, now))) throw new RollBack(reject('TOKEN_USED', `token ${tok.id} was used concurrently`));
        await s.audit(now, 'token-use', fp, { token: tok.id, source });
        this.log('enroll-token', { source, fingerprint: fp, token: tok.id });
        dev = (await s.deviceById(dev.id))!;
      }
    }

    if (!dev) {
      await s.lockPendingQueue();
      const since = now - this.config.pendingTtl;
      if ((await s.pendingCount(since, sourceKey)) >= this.config.maxPendingPerSource) {
        this.log('pending-limit-source', { source, fingerprint: fp });
        return reject('PENDING_LIMIT', 'too many devices from this address are waiting for approval', 300);
      }
      if ((await s.pendingCount(since)) >= this.config.maxPending) {
        this.log('pending-limit', { source, fingerprint: fp });
        return reject('PENDING_LIMIT', 'too many devices are waiting for approval', 300);
      }
      dev = await s.insertDevice({ pk, fingerprint: fp, role: req.role, status: 'pending', prefixes: [], requested: req.prefixes, mode: 'encrypted', via: null, source: sourceKey, now });
      await s.audit(now, 'enroll-pending', fp, { role: req.role, prefixes: req.prefixes, source });
      this.log('enroll-pending', { source, fingerprint: fp, role: req.role, prefixes: req.prefixes });
    }
    if (dev.status === 'pending') {
      await seen('pending');
      return { status: 'pending', fingerprint: fp, retry_after: this.config.pendingRetry };
    }
    if (dev.role !== req.role) {
      await seen('role-mismatch');
      return reject('ROLE_MISMATCH', `device is approved for the ${dev.role} role`);
    }
    const outside = req.prefixes.filter((p) => !dev!.prefixes.includes(p));
    if (outside.length > 0) {
      await seen('prefix-not-authorised');
      return reject('PREFIX_NOT_AUTHORISED', `${outside.join(', ')} (authorised: ${dev.prefixes.join(', ') || 'none'})`);
    }
    const grant = await this.buildGrant(s, dev, req.prefixes.length > 0 ? req.prefixes : dev.prefixes, now);
    const problem = grantProblem(grant);
    if (problem !== null) throw new GrantOutOfLimits(problem);
    await seen('granted', true);
    return { status: 'granted', grant };
  }

  /** Secrets for `dev`, recorded in `issued` (in the transaction of `s`). */
  async buildGrant(s: Store, dev: Device, prefixes: readonly string[], now: number): Promise<Grant> {
    const pairings: GrantPairing[] = [];
    const keyed: Schedule[] = [];
    for (const p of await s.activePairings(dev.role)) {
      const own = dev.role === 'client' ? prefixes.filter((x) => p.clientPrefixes.includes(x)) : [];
      if (dev.role === 'client' && own.length === 0) continue;
      const keys: GrantKey[] = [];
      if (dev.mode === 'encrypted') {
        for (const w of generationsToIssue(p, now)) {
          const key = dev.role === 'client' ? clientKey(p.pms, w, own) : serverKey(p.pms, w);
          const slots = key.secrets ? key.secrets.map((x) => [x.prefix, x.secret] as const) : [['*', key.sgs!] as const];
          for (const [prefix, secret] of slots) {
            if (!(await s.recordIssued(dev.id, p.id, w.generation, prefix, secretDigest(secret), now))) {
              throw new IssuedConflict(`pairing ${p.id} generation ${w.generation} prefix ${prefix}`);
            }
          }
          keys.push(key);
        }
        keyed.push(p);
      }
      pairings.push({ id: p.id, aead: p.dataAead, peer_prefixes: dev.role === 'client' ? p.serverPrefixes : p.clientPrefixes, keys });
    }
    return {
      fingerprint: dev.fingerprint,
      role: dev.role,
      mode: dev.mode,
      prefixes: [...prefixes],
      ...grantTiming(keyed, now, this.config.renewInterval),
      pairings,
    };
  }

}
