/**
 * Analyzer key files (docs/PROTOCOL.md §7.8): a primary exports
 * CS(P) or SGS of chosen generations, sealed (HPKE auth mode) from its own
 * key to an analyzer's public key. The file is the request-shaped envelope of
 * type 0x05; the plaintext is ASCII JSON. Pure.
 */
import { fromHex, type RandomBytes } from '../util/bytes.js';
import { DEFAULT_SUITE, MsgType, type SuiteIds } from './codec.js';
import { FieldError, isObj, jsonToAscii, parseJsonObject, reqArray, reqEnum, reqInt, reqStr } from './json.js';
import {
  MAX_PEER_PREFIXES,
  MAX_TIME,
  MODES,
  PROTOCOL_VERSION,
  parseGrantKey,
  prefixList,
  ROLES,
  type DataMode,
  type GrantKey,
  type Role,
} from './messages.js';
import { openRequest, sealRequest, type SuiteProvider } from './seal.js';

export interface AnalyzerKeys {
  /** Pairing id (16 hex). */
  readonly pairing: string;
  /** The exporting primary's role in the pairing. */
  readonly role: Role;
  readonly aead: number;
  readonly mode: DataMode;
  readonly t0: number;
  readonly period: number;
  readonly overlap: number;
  readonly client_prefixes: readonly string[];
  readonly server_prefixes: readonly string[];
  readonly created: number;
  /** With `sgs` (whole pairing) or `secrets` (CS(P) of the exported prefixes). */
  readonly keys: readonly GrantKey[];
}

export const MAX_EXPORT_KEYS = 4096;

export function encodeAnalyzerKeys(k: AnalyzerKeys): Uint8Array {
  return jsonToAscii({ v: PROTOCOL_VERSION, type: 'analyzer-keys', ...k });
}

export function parseAnalyzerKeys(bytes: Uint8Array): AnalyzerKeys {
  const o = parseJsonObject(bytes);
  if (o.v !== PROTOCOL_VERSION || o.type !== 'analyzer-keys') throw new FieldError('type', 'not an analyzer key file of version 1');
  const keys = reqArray(o, 'keys', MAX_EXPORT_KEYS).map((k, i) => {
    if (!isObj(k)) throw new FieldError(`keys[${i}]`, 'must be an object');
    return parseGrantKey(k, k.sgs !== undefined ? 'server' : 'client', `keys[${i}]`);
  });
  return {
    pairing: reqStr(o, 'pairing', 16, /^[0-9a-f]{16}$/),
    role: reqEnum(o, 'role', ROLES),
    aead: reqInt(o, 'aead', 1, 2),
    mode: reqEnum(o, 'mode', MODES),
    t0: reqInt(o, 't0', 0, MAX_TIME),
    period: reqInt(o, 'period', 1, MAX_TIME),
    overlap: reqInt(o, 'overlap', 0, MAX_TIME),
    client_prefixes: prefixList(o, 'client_prefixes', MAX_PEER_PREFIXES),
    server_prefixes: prefixList(o, 'server_prefixes', MAX_PEER_PREFIXES),
    created: reqInt(o, 'created', 0, MAX_TIME),
    keys,
  };
}

export function sealAnalyzerKeys(p: {
  readonly keys: AnalyzerKeys;
  readonly primarySk: Uint8Array;
  readonly primaryPk: Uint8Array;
  readonly analyzerPk: Uint8Array;
  readonly random: RandomBytes;
  readonly suite?: SuiteIds;
  readonly suites?: SuiteProvider;
}): Uint8Array {
  return sealRequest({
    type: MsgType.AnalyzerKeys,
    suite: p.suite ?? DEFAULT_SUITE,
    senderSk: p.primarySk,
    senderPk: p.primaryPk,
    recipientPk: p.analyzerPk,
    plaintext: encodeAnalyzerKeys(p.keys),
    random: p.random,
    ...(p.suites ? { suites: p.suites } : {}),
  });
}

/**
 * Opens an analyzer key file. The envelope names the primary's public key; a
 * caller that knows which primary to expect passes it and a mismatch throws.
 */
export function openAnalyzerKeys(
  file: Uint8Array,
  analyzerSk: Uint8Array,
  expectedPrimaryPk?: Uint8Array,
): { primaryPk: Uint8Array; keys: AnalyzerKeys } {
  const opened = openRequest(MsgType.AnalyzerKeys, file, analyzerSk);
  if (expectedPrimaryPk && opened.senderPk.some((b, i) => b !== expectedPrimaryPk[i])) {
    throw new FieldError('primary', 'the key file was sealed by another primary');
  }
  return { primaryPk: opened.senderPk, keys: parseAnalyzerKeys(opened.plaintext) };
}

/** Secret octets of a key entry, for an analyzer: SGS, or CS(P) of one prefix. */
export function keySecret(k: GrantKey, prefix?: string): Uint8Array | null {
  if (k.sgs !== undefined) return fromHex(k.sgs);
  const s = k.secrets?.find((x) => x.prefix === prefix);
  return s ? fromHex(s.secret) : null;
}
