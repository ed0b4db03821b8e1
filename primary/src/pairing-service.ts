/**
 * Pairing between primaries (docs/PROTOCOL.md §7.7): the
 * responder's endpoints (offer, finish, update) and the initiator's client
 * side used by the CLI (`pair init`, `pair update`).
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { constantTimeEqual, fromHex, toHex, type RandomBytes } from '../../core/src/util/bytes.js';
import { DEFAULT_SUITE, MsgType } from '../../core/src/enroll/codec.js';
import { FieldError, hexField, jsonToAscii, parseJsonObject, reqInt, reqStr } from '../../core/src/enroll/json.js';
import { MAX_GRANT_PAIRINGS, MAX_PEER_PREFIXES, MAX_TIME, NONCE_OCTETS, PROTOCOL_VERSION, prefixList, type DataMode, type Role } from '../../core/src/enroll/messages.js';
import { openRequest, openResponse, SealError, sealRequest, sealResponse } from '../../core/src/enroll/seal.js';
import {
  chooseSuite,
  encodeChoice,
  encodeOffer,
  encodePairError,
  initiatorFinish,
  initiatorVerifyConfirm,
  PAIR_NONCE_OCTETS,
  PAIR_SUITES,
  PairError,
  parseChoice,
  parseFinish,
  parseOffer,
  parsePairError,
  responderFinish,
  SESSION_OCTETS,
  type PairErrorCode,
} from '../../core/src/pairing/protocol.js';
import { wipe } from '../../core/src/util/bytes.js';
import { plainAnswer, type HttpAnswer, type Identity, type Logger } from './enroll-service.js';
import { fastSuites } from './fast-suite.js';
import { AdminError, type Store } from './store.js';

const PAIR_STATUS: Record<PairErrorCode, number> = {
  BAD_MESSAGE: 400,
  UNSUPPORTED_VERSION: 400,
  NO_COMMON_SUITE: 400,
  BAD_PARAMS: 400,
  PAIRING_REFUSED: 403,
  UNAUTHENTICATED: 403,
  CONFIRM_FAILED: 403,
  SESSION_UNKNOWN: 404,
  STALE_REQUEST: 400,
  ALREADY_PAIRED: 409,
};

function pairAnswer(code: PairErrorCode, message: string): HttpAnswer {
  return { status: PAIR_STATUS[code], body: encodePairError(code, message), type: 'application/json' };
}

const ok = (body: Uint8Array, type = 'application/json'): HttpAnswer => ({ status: 200, body, type });

export class PairingResponder {
  constructor(
    private readonly store: Store,
    private readonly id: Identity,
    private readonly window: number,
    private readonly now: () => number,
    private readonly random: RandomBytes,
    private readonly log: Logger = () => {},
  ) {}

  async offer(body: Uint8Array, source: string): Promise<HttpAnswer> {
    try {
      const offer = parseOffer(body);
      const now = this.now();
      if (!constantTimeEqual(offer.responder, this.id.pk)) {
        return pairAnswer('PAIRING_REFUSED', 'the offer is addressed to another responder key');
      }
      if (Math.abs(offer.ts - now) > this.window) return pairAnswer('STALE_REQUEST', `offer time ${offer.ts}, responder time ${now}`);
      if (!(await this.store.inviteValid(offer.initiator, now))) {
        this.log('pair-refused', { source, peer: toHex(offer.initiator) });
        return pairAnswer('PAIRING_REFUSED', 'this initiator key is not expected (run pair accept on the responder)');
      }
      if (await this.store.activePairingWith(offer.initiator)) return pairAnswer('ALREADY_PAIRED', 'an active pairing with this initiator exists');
      if ((await this.store.activePairings('server')).length >= MAX_GRANT_PAIRINGS) {
        return pairAnswer('PAIRING_REFUSED', `the responder has ${MAX_GRANT_PAIRINGS} active pairings, the most one grant can carry`);
      }
      const suite = chooseSuite(offer.suites);
      if (!suite) return pairAnswer('NO_COMMON_SUITE', 'none of the offered suites is supported');
      const session = this.random(SESSION_OCTETS);
      const choice = encodeChoice({
        session,
        suite,
        initiator: offer.initiator,
        responder: this.id.pk,
        nonce: this.random(PAIR_NONCE_OCTETS),
        ts: now,
      });
      await this.store.addSession(session, offer.initiator, body, choice, now + 120);
      this.log('pair-offer', { source, peer: toHex(offer.initiator), suite });
      return ok(choice);
    } catch (e) {
      if (e instanceof PairError) return pairAnswer(e.code, e.message);
      throw e;
    }
  }

  async finish(body: Uint8Array, source: string): Promise<HttpAnswer> {
    try {
      const fin = parseFinish(body);
      const now = this.now();
      // The session is burnt before anything else: one finish per offer, success or not.
      const sess = await this.store.tx((s) => s.takeSession(fin.session, now));
      if (!sess) return pairAnswer('SESSION_UNKNOWN', 'no such pairing session (expired or already used)');
      const serverPrefixes = await this.store.prefixes('server');
      const r = responderFinish({
        offer: sess.offer,
        choice: sess.choice,
        finish: body,
        responderSk: this.id.sk,
        responderParams: { server_prefixes: serverPrefixes },
      });
      const suite = parseChoice(sess.choice).suite;
      try {
        return await this.store.tx(async (s) => {
          if (!(await s.inviteValid(sess.peerPk, now))) return pairAnswer('PAIRING_REFUSED', 'the invitation expired');
          if (await s.activePairingWith(sess.peerPk)) return pairAnswer('ALREADY_PAIRED', 'an active pairing with this initiator exists');
          await s.insertPairing(
            {
              id: r.pairingId,
              role: 'server',
              peerPk: sess.peerPk,
              peerUrl: null,
              pms: r.pms,
              suite: `${suite.kem}/${suite.kdf}/${suite.aead}`,
              dataAead: r.params.data_aead,
              mode: r.params.mode,
              t0: r.params.t0,
              period: r.params.period,
              overlap: r.params.overlap,
              clientPrefixes: [...r.params.client_prefixes],
              serverPrefixes,
            },
            now,
          );
          await s.dropInvite(sess.peerPk);
          this.log('paired', { source, pairing: r.pairingId, role: 'server', peer: toHex(sess.peerPk) });
          return ok(r.confirm);
        });
      } finally {
        wipe(r.pms);
      }
    } catch (e) {
      if (e instanceof PairError) return pairAnswer(e.code, e.message);
      if (e instanceof AdminError) return pairAnswer('PAIRING_REFUSED', e.message);
      throw e;
    }
  }

  /** Prefix update from the peer of an active pairing (sealed, type 0x03/0x04). */
  async update(envelope: Uint8Array, source: string): Promise<HttpAnswer> {
    let opened;
    try {
      opened = openRequest(MsgType.PairUpdateRequest, envelope, this.id.sk, fastSuites);
    } catch (e) {
      if (e instanceof SealError) return plainAnswer(e.code === 'UNAUTHENTICATED' ? 'UNAUTHENTICATED' : 'MALFORMED');
      throw e;
    }
    const now = this.now();
    let upd: ReturnType<typeof parseUpdate>;
    try {
      upd = parseUpdate(opened.plaintext);
    } catch (e) {
      if (e instanceof FieldError) return plainAnswer('MALFORMED');
      throw e;
    }
    const answer = (o: Record<string, unknown>): HttpAnswer =>
      ok(
        sealResponse({
          type: MsgType.PairUpdateResponse,
          request: envelope,
          senderSk: this.id.sk,
          recipientPk: opened.senderPk,
          plaintext: jsonToAscii({ v: PROTOCOL_VERSION, ts: now, nonce: upd.nonce, ...o }),
          random: this.random,
          suites: fastSuites,
        }),
        'application/octet-stream',
      );
    if (Math.abs(upd.ts - now) > this.window) return answer({ status: 'rejected', reason: 'STALE_REQUEST' });
    return this.store.tx(async (s) => {
      if (!(await s.rememberNonce(opened.senderPk, fromHex(upd.nonce), upd.ts + this.window + 1))) {
        return answer({ status: 'rejected', reason: 'REPLAY' });
      }
      const p = await s.pairing(upd.pairing);
      if (!p || p.status !== 'active' || !constantTimeEqual(p.peerPk, opened.senderPk)) {
        return answer({ status: 'rejected', reason: 'UNKNOWN_PAIRING' });
      }
      // The peer speaks for its own side: a Primary Client for client prefixes, a Primary Server for server prefixes.
      const peerKind: Role = p.role === 'server' ? 'client' : 'server';
      await s.setPairingPrefixes(p.id, peerKind, upd.prefixes, now);
      const mine = await s.prefixes(p.role);
      await s.setPairingPrefixes(p.id, p.role, mine, now);
      this.log('pair-update', { source, pairing: p.id, [peerKind]: upd.prefixes });
      return answer({ status: 'ok', prefixes: mine });
    });
  }
}

function parseUpdate(b: Uint8Array): { pairing: string; ts: number; nonce: string; prefixes: string[] } {
  const o = parseJsonObject(b);
  if (o.v !== PROTOCOL_VERSION) throw new FieldError('v', 'unsupported version');
  return {
    pairing: reqStr(o, 'pairing', 16, /^[0-9a-f]{16}$/),
    ts: reqInt(o, 'ts', 0, MAX_TIME),
    nonce: reqStr(o, 'nonce', 32, hexField(NONCE_OCTETS)),
    prefixes: prefixList(o, 'prefixes', MAX_PEER_PREFIXES),
  };
}

// ---------------------------------------------------------------------------------------------
// client side (CLI)

export interface PostResult {
  readonly status: number;
  readonly body: Uint8Array;
}

/** POST with a timeout and a response size limit. */
export function post(url: string, body: Uint8Array, type: string, timeoutMs = 15000, maxBytes = 1 << 20): Promise<PostResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(
      u,
      { method: 'POST', headers: { 'content-type': type, 'content-length': body.length }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        let n = 0;
        res.on('data', (c: Buffer) => {
          n += c.length;
          if (n > maxBytes) {
            req.destroy(new Error(`response from ${url} exceeds ${maxBytes} octets`));
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: new Uint8Array(Buffer.concat(chunks)) }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout after ${timeoutMs} ms talking to ${url}`)));
    req.on('error', reject);
    req.end(Buffer.from(body));
  });
}

function endpoint(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}

function pairFailure(r: PostResult, step: string): Error {
  const e = parsePairError(r.body);
  if (e) return new AdminError(`pairing ${step} refused by the responder: ${e.reason}: ${e.message}`);
  return new AdminError(`pairing ${step}: HTTP ${r.status} ${Buffer.from(r.body.subarray(0, 200)).toString('latin1').trim()}`);
}

export interface InitiateOptions {
  readonly url: string;
  readonly peerPk: Uint8Array;
  readonly period: number;
  readonly overlap: number;
  readonly dataAead: number;
  readonly mode: DataMode;
  readonly t0?: number;
}

/** The Primary Client's side of a pairing: offer, finish, verify, store. Returns the pairing id. */
export async function initiatePairing(store: Store, id: Identity, o: InitiateOptions, now: () => number, random: RandomBytes): Promise<string> {
  if (await store.activePairingWith(o.peerPk)) throw new AdminError('an active pairing with this peer exists (pair revoke it first)');
  if ((await store.activePairings('client')).length >= MAX_GRANT_PAIRINGS) {
    throw new AdminError(`this primary has ${MAX_GRANT_PAIRINGS} active client pairings, the most one grant can carry: revoke one first`);
  }
  const clientPrefixes = await store.prefixes('client');
  const offer = encodeOffer({ initiator: id.pk, responder: o.peerPk, suites: PAIR_SUITES, nonce: random(PAIR_NONCE_OCTETS), ts: now() });
  const r1 = await post(endpoint(o.url, '/v1/pair/offer'), offer, 'application/json');
  if (r1.status !== 200) throw pairFailure(r1, 'offer');
  const choice = parseChoice(r1.body);
  const fin = initiatorFinish({
    offer,
    choice: r1.body,
    initiatorSk: id.sk,
    params: {
      data_aead: o.dataAead,
      mode: o.mode,
      t0: o.t0 ?? now(),
      period: o.period,
      overlap: o.overlap,
      client_prefixes: clientPrefixes,
    },
    random,
  });
  const r2 = await post(endpoint(o.url, '/v1/pair/finish'), fin.finish, 'application/json');
  if (r2.status !== 200) throw pairFailure(r2, 'finish');
  const serverParams = initiatorVerifyConfirm({ confirm: r2.body, confirmKey: fin.confirmKey, pairingId: fin.pairingId, session: choice.session });
  wipe(fin.confirmKey);
  const t = now();
  await store.tx((s) =>
    s.insertPairing(
      {
        id: fin.pairingId,
        role: 'client',
        peerPk: o.peerPk,
        peerUrl: o.url,
        pms: fin.pms,
        suite: `${choice.suite.kem}/${choice.suite.kdf}/${choice.suite.aead}`,
        dataAead: fin.params.data_aead,
        mode: fin.params.mode,
        t0: fin.params.t0,
        period: fin.params.period,
        overlap: fin.params.overlap,
        clientPrefixes: [...fin.params.client_prefixes],
        serverPrefixes: [...serverParams.server_prefixes],
      },
      t,
    ),
  );
  wipe(fin.pms);
  return fin.pairingId;
}

/** Sends this side's current prefixes to the peer and records the peer's. */
export async function updatePairing(
  store: Store,
  id: Identity,
  pairingId: string,
  url: string | undefined,
  now: () => number,
  random: RandomBytes,
): Promise<{ mine: string[]; peer: string[] }> {
  const p = await store.pairing(pairingId);
  if (!p || p.status !== 'active') throw new AdminError(`no active pairing ${pairingId}`);
  const target = url ?? p.peerUrl;
  if (!target) throw new AdminError('the peer URL is not known for this pairing: give --url');
  const mine = await store.prefixes(p.role);
  const nonce = toHex(random(NONCE_OCTETS));
  const request = sealRequest({
    type: MsgType.PairUpdateRequest,
    suite: DEFAULT_SUITE,
    senderSk: id.sk,
    senderPk: id.pk,
    recipientPk: p.peerPk,
    plaintext: jsonToAscii({ v: PROTOCOL_VERSION, pairing: p.id, ts: now(), nonce, prefixes: mine }),
    random,
    suites: fastSuites,
  });
  const r = await post(endpoint(target, '/v1/pair/update'), request, 'application/octet-stream');
  if (r.status !== 200) throw new AdminError(`pair update: HTTP ${r.status} ${Buffer.from(r.body.subarray(0, 100)).toString('latin1').trim()}`);
  const plain = openResponse({ type: MsgType.PairUpdateResponse, envelope: r.body, request, recipientSk: id.sk, senderPk: p.peerPk, suites: fastSuites });
  const o = parseJsonObject(plain);
  if (o.nonce !== nonce) throw new AdminError('pair update: response does not match the request');
  if (o.status !== 'ok') throw new AdminError(`pair update rejected: ${String(o.reason)}`);
  const peer = prefixList(o, 'prefixes', MAX_PEER_PREFIXES);
  const peerKind: Role = p.role === 'client' ? 'server' : 'client';
  const t = now();
  await store.tx(async (s) => {
    await s.setPairingPrefixes(p.id, p.role, mine, t);
    await s.setPairingPrefixes(p.id, peerKind, peer, t);
    if (url) await s.setPairingUrl(p.id, url);
  });
  return { mine, peer };
}

