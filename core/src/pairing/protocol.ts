/**
 * Pairing between a Primary Client (initiator) and a Primary Server
 * (responder), DESIGN.md §3.1 and docs/PROTOCOL.md §7.7:
 *
 *   offer   I → R  suites offered, both static public keys, nonce, time
 *   choice  R → I  the suite picked, session id, nonce
 *   finish  I → R  HPKE auth-mode enc, salt, initiator parameters, confirm_i
 *   confirm R → I  pairing id, responder parameters, confirm_r
 *
 * PMS = HPKE export (PROTOCOL.md §5.2). Both confirmation MACs are keyed from
 * the PMS and bound to the whole transcript (exact octets of offer and
 * choice, enc, salt, both parameter blocks), so a downgraded offer, a swapped
 * key or altered parameters fail confirmation. Pure.
 */
import { hmac } from '@noble/hashes/hmac.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ascii, concat, constantTimeEqual, fromHex, toHex, u8, u32, wipe, type RandomBytes } from '../util/bytes.js';
import { PK_LEN } from '../enroll/codec.js';
import {
  FieldError,
  hexField,
  isObj,
  jsonToAscii,
  jsonToAsciiString,
  parseJsonObject,
  reqArray,
  reqEnum,
  reqInt,
  reqStr,
  type Obj,
} from '../enroll/json.js';
import { MAX_PEER_PREFIXES, MAX_TIME, MODES, PROTOCOL_VERSION, prefixList, type DataMode } from '../enroll/messages.js';
import { checkSchedule, type Schedule } from '../enroll/schedule.js';
import { createSuite, isHpkeError, Mode, setupRecipient, setupSender, type Suite } from '../hpke/hpke.js';
import { kdf, PAIRING_SALT_LEN, SECRET_LEN } from '../keys/schedule.js';
import { pairingInfo, pairMasterSecret } from './secret.js';

export const LABEL_PAIR_TRANSCRIPT = 'pdmv2 v1 pair transcript';
export const LABEL_PAIR_CONFIRM = 'pdmv2 v1 pair confirm';
export const LABEL_PAIR_INITIATOR = 'pdmv2 v1 pair initiator';
export const LABEL_PAIR_RESPONDER = 'pdmv2 v1 pair responder';
export const LABEL_PAIRING_ID = 'pdmv2 v1 pairing id';

export const PAIR_NONCE_OCTETS = 32;
export const SESSION_OCTETS = 16;

export interface PairSuite {
  readonly kem: number;
  readonly kdf: number;
  readonly aead: number;
}

/** What this implementation offers, in order of preference (export-only first: pairing only exports). */
export const PAIR_SUITES: readonly PairSuite[] = [
  { kem: 0x0020, kdf: 0x0001, aead: 0xffff },
  { kem: 0x0020, kdf: 0x0001, aead: 0x0001 },
  { kem: 0x0020, kdf: 0x0001, aead: 0x0003 },
];

export function suiteSupported(s: PairSuite): boolean {
  try {
    createSuite(s.kem, s.kdf, s.aead);
    return true;
  } catch {
    return false;
  }
}

export type PairErrorCode =
  | 'BAD_MESSAGE'
  | 'UNSUPPORTED_VERSION'
  | 'NO_COMMON_SUITE'
  | 'PAIRING_REFUSED'
  | 'SESSION_UNKNOWN'
  | 'STALE_REQUEST'
  | 'BAD_PARAMS'
  | 'CONFIRM_FAILED'
  | 'UNAUTHENTICATED'
  | 'ALREADY_PAIRED';

export class PairError extends Error {
  readonly code: PairErrorCode;
  constructor(code: PairErrorCode, message: string) {
    super(message);
    this.name = 'PairError';
    this.code = code;
  }
}

function parse(bytes: Uint8Array, type: string): Obj {
  let o: Obj;
  try {
    o = parseJsonObject(bytes);
  } catch (e) {
    throw new PairError('BAD_MESSAGE', (e as Error).message);
  }
  if (o.v !== PROTOCOL_VERSION) throw new PairError('UNSUPPORTED_VERSION', `only version ${PROTOCOL_VERSION} is supported`);
  if (o.type !== type) throw new PairError('BAD_MESSAGE', `expected a ${type} message`);
  return o;
}

function fields<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FieldError) throw new PairError('BAD_MESSAGE', e.message);
    throw e;
  }
}

const HEX32 = hexField(32);
const hexBytes = (o: Obj, k: string, n: number): Uint8Array => fromHex(reqStr(o, k, n * 2, hexField(n)));

function parseSuite(v: unknown, where: string): PairSuite {
  if (!isObj(v)) throw new FieldError(where, 'must be an object');
  return {
    kem: reqInt(v, 'kem', 0, 0xffff, `${where}.kem`),
    kdf: reqInt(v, 'kdf', 0, 0xffff, `${where}.kdf`),
    aead: reqInt(v, 'aead', 0, 0xffff, `${where}.aead`),
  };
}

// ---------------------------------------------------------------------------------------------
// offer

export interface PairOffer {
  readonly initiator: Uint8Array;
  readonly responder: Uint8Array;
  readonly suites: readonly PairSuite[];
  readonly nonce: Uint8Array;
  readonly ts: number;
}

export function encodeOffer(o: PairOffer): Uint8Array {
  return jsonToAscii({
    v: PROTOCOL_VERSION,
    type: 'pair-offer',
    initiator: toHex(o.initiator),
    responder: toHex(o.responder),
    suites: o.suites,
    nonce: toHex(o.nonce),
    ts: o.ts,
  });
}

export function parseOffer(bytes: Uint8Array): PairOffer {
  const o = parse(bytes, 'pair-offer');
  return fields(() => ({
    initiator: hexBytes(o, 'initiator', PK_LEN),
    responder: hexBytes(o, 'responder', PK_LEN),
    suites: reqArray(o, 'suites', 16).map((s, i) => parseSuite(s, `suites[${i}]`)),
    nonce: hexBytes(o, 'nonce', PAIR_NONCE_OCTETS),
    ts: reqInt(o, 'ts', 0, MAX_TIME),
  }));
}

/** The responder's choice: the first offered suite it supports (the initiator's order). */
export function chooseSuite(offered: readonly PairSuite[]): PairSuite | null {
  return offered.find((s) => s.kem === 0x0020 && suiteSupported(s)) ?? null;
}

// ---------------------------------------------------------------------------------------------
// choice

export interface PairChoice {
  readonly session: Uint8Array;
  readonly suite: PairSuite;
  readonly initiator: Uint8Array;
  readonly responder: Uint8Array;
  readonly nonce: Uint8Array;
  readonly ts: number;
}

export function encodeChoice(c: PairChoice): Uint8Array {
  return jsonToAscii({
    v: PROTOCOL_VERSION,
    type: 'pair-choice',
    session: toHex(c.session),
    suite: c.suite,
    initiator: toHex(c.initiator),
    responder: toHex(c.responder),
    nonce: toHex(c.nonce),
    ts: c.ts,
  });
}

export function parseChoice(bytes: Uint8Array): PairChoice {
  const o = parse(bytes, 'pair-choice');
  return fields(() => ({
    session: hexBytes(o, 'session', SESSION_OCTETS),
    suite: parseSuite(o.suite, 'suite'),
    initiator: hexBytes(o, 'initiator', PK_LEN),
    responder: hexBytes(o, 'responder', PK_LEN),
    nonce: hexBytes(o, 'nonce', PAIR_NONCE_OCTETS),
    ts: reqInt(o, 'ts', 0, MAX_TIME),
  }));
}

// ---------------------------------------------------------------------------------------------
// parameters

export interface InitiatorParams extends Schedule {
  readonly data_aead: number;
  readonly mode: DataMode;
  readonly client_prefixes: readonly string[];
}

export interface ResponderParams {
  readonly server_prefixes: readonly string[];
}

export function encodeInitiatorParams(p: InitiatorParams): string {
  return jsonToAsciiString({
    data_aead: p.data_aead,
    mode: p.mode,
    t0: p.t0,
    period: p.period,
    overlap: p.overlap,
    client_prefixes: p.client_prefixes,
  });
}

function paramsObject(text: string): Obj {
  try {
    return parseJsonObject(ascii(text));
  } catch (e) {
    throw new PairError('BAD_PARAMS', `parameters: ${(e as Error).message}`);
  }
}

function paramsGuard<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FieldError) throw new PairError('BAD_PARAMS', e.message);
    throw e;
  }
}

export function parseInitiatorParams(text: string): InitiatorParams {
  const o = paramsObject(text);
  return paramsGuard(() => {
    const p: InitiatorParams = {
      data_aead: reqInt(o, 'data_aead', 1, 2),
      mode: reqEnum(o, 'mode', MODES),
      t0: reqInt(o, 't0', 0, MAX_TIME),
      period: reqInt(o, 'period', 0, MAX_TIME),
      overlap: reqInt(o, 'overlap', 0, MAX_TIME),
      client_prefixes: prefixList(o, 'client_prefixes', MAX_PEER_PREFIXES),
    };
    const bad = checkSchedule(p);
    if (bad) throw new FieldError('schedule', bad);
    return p;
  });
}

export function encodeResponderParams(p: ResponderParams): string {
  return jsonToAsciiString({ server_prefixes: p.server_prefixes });
}

export function parseResponderParams(text: string): ResponderParams {
  const o = paramsObject(text);
  return paramsGuard(() => ({ server_prefixes: prefixList(o, 'server_prefixes', MAX_PEER_PREFIXES) }));
}

// ---------------------------------------------------------------------------------------------
// transcript, keys, MACs

function lp(b: Uint8Array): Uint8Array {
  return concat(u32(b.length), b);
}

export function transcriptHash(offer: Uint8Array, choice: Uint8Array, enc: Uint8Array, salt: Uint8Array, paramsI: string): Uint8Array {
  return sha256(concat(ascii(LABEL_PAIR_TRANSCRIPT), u8(0), lp(offer), lp(choice), enc, salt, lp(ascii(paramsI))));
}

export function confirmKey(pms: Uint8Array, th: Uint8Array): Uint8Array {
  return kdf(pms, LABEL_PAIR_CONFIRM, th, SECRET_LEN);
}

export function initiatorConfirm(k: Uint8Array): Uint8Array {
  return hmac(sha256, k, ascii(LABEL_PAIR_INITIATOR));
}

export function responderConfirm(k: Uint8Array, paramsR: string): Uint8Array {
  return hmac(sha256, k, concat(ascii(LABEL_PAIR_RESPONDER), u8(0), sha256(ascii(paramsR))));
}

export function pairingId(initiator: Uint8Array, responder: Uint8Array, salt: Uint8Array): string {
  return toHex(sha256(concat(ascii(LABEL_PAIRING_ID), u8(0), initiator, responder, salt)).subarray(0, 8));
}

function suiteOf(s: PairSuite): Suite {
  return createSuite(s.kem, s.kdf, s.aead);
}

// ---------------------------------------------------------------------------------------------
// finish / confirm

export interface PairFinish {
  readonly session: Uint8Array;
  readonly enc: Uint8Array;
  readonly salt: Uint8Array;
  readonly params: string;
  readonly confirm: Uint8Array;
}

export function encodeFinish(f: PairFinish): Uint8Array {
  return jsonToAscii({
    v: PROTOCOL_VERSION,
    type: 'pair-finish',
    session: toHex(f.session),
    enc: toHex(f.enc),
    salt: toHex(f.salt),
    params: f.params,
    confirm: toHex(f.confirm),
  });
}

export function parseFinish(bytes: Uint8Array): PairFinish {
  const o = parse(bytes, 'pair-finish');
  return fields(() => ({
    session: hexBytes(o, 'session', SESSION_OCTETS),
    enc: hexBytes(o, 'enc', 32),
    salt: hexBytes(o, 'salt', PAIRING_SALT_LEN),
    params: reqStr(o, 'params', 32768),
    confirm: fromHex(reqStr(o, 'confirm', 64, HEX32)),
  }));
}

export interface PairConfirm {
  readonly session: Uint8Array;
  readonly pairing: string;
  readonly params: string;
  readonly confirm: Uint8Array;
}

export function encodeConfirm(c: PairConfirm): Uint8Array {
  return jsonToAscii({
    v: PROTOCOL_VERSION,
    type: 'pair-confirm',
    session: toHex(c.session),
    pairing: c.pairing,
    params: c.params,
    confirm: toHex(c.confirm),
  });
}

export function parseConfirm(bytes: Uint8Array): PairConfirm {
  const o = parse(bytes, 'pair-confirm');
  return fields(() => ({
    session: hexBytes(o, 'session', SESSION_OCTETS),
    pairing: reqStr(o, 'pairing', 16, /^[0-9a-f]{16}$/),
    params: reqStr(o, 'params', 32768),
    confirm: fromHex(reqStr(o, 'confirm', 64, HEX32)),
  }));
}

export interface InitiatorFinishResult {
  readonly finish: Uint8Array;
  readonly pms: Uint8Array;
  readonly confirmKey: Uint8Array;
  readonly pairingId: string;
  readonly params: InitiatorParams;
}

/**
 * The initiator's third step, after checking that the choice names the same
 * keys and one of the suites it offered.
 */
export function initiatorFinish(p: {
  readonly offer: Uint8Array;
  readonly choice: Uint8Array;
  readonly initiatorSk: Uint8Array;
  readonly params: InitiatorParams;
  readonly random: RandomBytes;
}): InitiatorFinishResult {
  const offer = parseOffer(p.offer);
  const choice = parseChoice(p.choice);
  if (!constantTimeEqual(choice.initiator, offer.initiator) || !constantTimeEqual(choice.responder, offer.responder)) {
    throw new PairError('BAD_MESSAGE', 'the choice names other keys than the offer');
  }
  const s = choice.suite;
  if (!offer.suites.some((o) => o.kem === s.kem && o.kdf === s.kdf && o.aead === s.aead)) {
    throw new PairError('NO_COMMON_SUITE', 'the responder chose a suite that was not offered');
  }
  const suite = suiteOf(s);
  const salt = p.random(PAIRING_SALT_LEN);
  const { enc, context } = setupSender(suite, {
    mode: Mode.Auth,
    pkR: offer.responder,
    skS: p.initiatorSk,
    info: pairingInfo(suite),
    ephemeral: p.random,
  });
  const pms = pairMasterSecret(context, salt);
  context.destroy();
  const paramsText = encodeInitiatorParams(p.params);
  const th = transcriptHash(p.offer, p.choice, enc, salt, paramsText);
  const k = confirmKey(pms, th);
  const finish = encodeFinish({ session: choice.session, enc, salt, params: paramsText, confirm: initiatorConfirm(k) });
  return { finish, pms, confirmKey: k, pairingId: pairingId(offer.initiator, offer.responder, salt), params: p.params };
}

export interface ResponderFinishResult {
  readonly pms: Uint8Array;
  readonly pairingId: string;
  readonly params: InitiatorParams;
  readonly confirm: Uint8Array;
}

/**
 * The responder's handling of finish: recompute the PMS, check confirm_i,
 * and produce the confirm message. Throws PairError CONFIRM_FAILED (or
 * UNAUTHENTICATED when the HPKE decapsulation itself fails).
 */
export function responderFinish(p: {
  readonly offer: Uint8Array;
  readonly choice: Uint8Array;
  readonly finish: Uint8Array;
  readonly responderSk: Uint8Array;
  readonly responderParams: ResponderParams;
}): ResponderFinishResult {
  const offer = parseOffer(p.offer);
  const choice = parseChoice(p.choice);
  const fin = parseFinish(p.finish);
  if (!constantTimeEqual(fin.session, choice.session)) throw new PairError('SESSION_UNKNOWN', 'finish names another session');
  const suite = suiteOf(choice.suite);
  let pms: Uint8Array;
  try {
    const ctx = setupRecipient(suite, {
      mode: Mode.Auth,
      enc: fin.enc,
      skR: p.responderSk,
      pkS: offer.initiator,
      info: pairingInfo(suite),
    });
    pms = pairMasterSecret(ctx, fin.salt);
    ctx.destroy();
  } catch (e) {
    if (isHpkeError(e)) throw new PairError('UNAUTHENTICATED', 'the encapsulation could not be processed');
    throw e;
  }
  const th = transcriptHash(p.offer, p.choice, fin.enc, fin.salt, fin.params);
  const k = confirmKey(pms, th);
  if (!constantTimeEqual(initiatorConfirm(k), fin.confirm)) {
    wipe(pms, k);
    throw new PairError('CONFIRM_FAILED', 'initiator key confirmation failed');
  }
  // Parameters are looked at only once they are known to come from the initiator.
  const params = parseInitiatorParams(fin.params);
  const paramsR = encodeResponderParams(p.responderParams);
  const id = pairingId(offer.initiator, offer.responder, fin.salt);
  const confirm = encodeConfirm({ session: choice.session, pairing: id, params: paramsR, confirm: responderConfirm(k, paramsR) });
  wipe(k);
  return { pms, pairingId: id, params, confirm };
}

/** The initiator's last step: check confirm_r; returns the responder's parameters. */
export function initiatorVerifyConfirm(p: {
  readonly confirm: Uint8Array;
  readonly confirmKey: Uint8Array;
  readonly pairingId: string;
  readonly session: Uint8Array;
}): ResponderParams {
  const c = parseConfirm(p.confirm);
  if (!constantTimeEqual(c.session, p.session) || c.pairing !== p.pairingId) {
    throw new PairError('CONFIRM_FAILED', 'confirm names another session or pairing');
  }
  if (!constantTimeEqual(responderConfirm(p.confirmKey, c.params), c.confirm)) {
    throw new PairError('CONFIRM_FAILED', 'responder key confirmation failed');
  }
  return parseResponderParams(c.params);
}

// ---------------------------------------------------------------------------------------------
// errors on the wire

export function encodePairError(code: PairErrorCode, message: string): Uint8Array {
  return jsonToAscii({ v: PROTOCOL_VERSION, type: 'pair-error', reason: code, message: message.slice(0, 200) });
}

export function parsePairError(bytes: Uint8Array): { reason: string; message: string } | null {
  try {
    const o = parseJsonObject(bytes);
    if (o.type !== 'pair-error') return null;
    return { reason: reqStr(o, 'reason', 40), message: reqStr(o, 'message', 200) };
  } catch {
    return null;
  }
}
