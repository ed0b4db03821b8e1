/**
 * The pdmv2 key schedule (docs/PROTOCOL.md §5): one HKDF-SHA256 based KDF
 * with purpose labels, from the pairing master secret down to per-flow
 * session temporary keys.
 */
import { extract, expand } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { ascii, concat, u8, u16, u32, wipe } from '../util/bytes.js';

export const LABEL_PMS = 'pdmv2 v1 pms';
export const LABEL_SGS = 'pdmv2 v1 sgs';
export const LABEL_CS = 'pdmv2 v1 cs';
export const LABEL_HS = 'pdmv2 v1 hs';
export const LABEL_STK = 'pdmv2 v1 stk';

export const SECRET_LEN = 32;
export const PAIRING_SALT_LEN = 32;

export const AEAD_AES_128_GCM = 0x0001;
export const AEAD_AES_256_GCM = 0x0002;
export type DataAeadId = typeof AEAD_AES_128_GCM | typeof AEAD_AES_256_GCM;

export function aeadKeyLength(aeadId: number): number {
  if (aeadId === AEAD_AES_128_GCM) return 16;
  if (aeadId === AEAD_AES_256_GCM) return 32;
  throw new KeyScheduleError('BAD_AEAD', `unsupported data-path AEAD id 0x${aeadId.toString(16)}`);
}

export type KeyScheduleErrorCode = 'BAD_AEAD' | 'BAD_PREFIX' | 'BAD_ADDRESS' | 'BAD_SECRET' | 'BAD_EPOCH' | 'BAD_TUPLE';

export class KeyScheduleError extends Error {
  readonly code: KeyScheduleErrorCode;
  constructor(code: KeyScheduleErrorCode, message: string) {
    super(message);
    this.name = 'KeyScheduleError';
    this.code = code;
  }
}

/** info = label || 0x00 || context. */
export function kdfInfo(label: string, context: Uint8Array): Uint8Array {
  return concat(ascii(label), u8(0), context);
}

export interface KdfTrace {
  prk: Uint8Array;
  info: Uint8Array;
  okm: Uint8Array;
}

/** KDF(parent, label, context, L) with its intermediate values, for vectors and tests. */
export function kdfTrace(parent: Uint8Array, label: string, context: Uint8Array, length: number): KdfTrace {
  if (parent.length < 16) throw new KeyScheduleError('BAD_SECRET', 'parent secret shorter than 16 octets');
  const prk = extract(sha256, parent, new Uint8Array(0));
  const info = kdfInfo(label, context);
  const okm = expand(sha256, prk, info, length);
  return { prk, info, okm };
}

export function kdf(parent: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  const t = kdfTrace(parent, label, context, length);
  wipe(t.prk);
  return t.okm;
}

/** exporter_context for the HPKE export that yields the PMS. */
export function pmsExporterContext(salt: Uint8Array): Uint8Array {
  if (salt.length !== PAIRING_SALT_LEN) throw new KeyScheduleError('BAD_SECRET', 'pairing salt must be 32 octets');
  return kdfInfo(LABEL_PMS, salt);
}

export function checkGeneration(generation: number): void {
  if (!Number.isInteger(generation) || generation < 0 || generation > 0xffffffff) {
    throw new KeyScheduleError('BAD_SECRET', 'generation must be a u32');
  }
}

export function serverGroupSecret(pms: Uint8Array, generation: number): Uint8Array {
  checkGeneration(generation);
  return kdf(pms, LABEL_SGS, u32(generation), SECRET_LEN);
}

export interface Prefix {
  /** 16 octets, host bits zero. */
  address: Uint8Array;
  length: number;
}

function checkAddress(a: Uint8Array): void {
  if (a.length !== 16) throw new KeyScheduleError('BAD_ADDRESS', 'IPv6 address must be 16 octets');
}

export function checkPrefix(p: Prefix): void {
  checkAddress(p.address);
  if (!Number.isInteger(p.length) || p.length < 0 || p.length > 128) {
    throw new KeyScheduleError('BAD_PREFIX', `prefix length ${p.length} outside 0..128`);
  }
  for (let bit = p.length; bit < 128; bit++) {
    if (p.address[bit >> 3]! & (0x80 >> (bit & 7))) {
      throw new KeyScheduleError('BAD_PREFIX', 'prefix has host bits set');
    }
  }
}

export function prefixContains(p: Prefix, address: Uint8Array): boolean {
  checkAddress(address);
  const full = p.length >> 3;
  for (let i = 0; i < full; i++) if (p.address[i] !== address[i]) return false;
  const rest = p.length & 7;
  if (rest === 0) return true;
  const mask = (0xff << (8 - rest)) & 0xff;
  return (p.address[full]! & mask) === (address[full]! & mask);
}

/** Longest-prefix match, as a Secondary Server does to find the client's prefix. */
export function longestPrefixMatch<T extends { prefix: Prefix }>(entries: readonly T[], address: Uint8Array): T | null {
  let best: T | null = null;
  for (const e of entries) {
    if (prefixContains(e.prefix, address) && (!best || e.prefix.length > best.prefix.length)) best = e;
  }
  return best;
}

export function prefixContext(p: Prefix): Uint8Array {
  checkPrefix(p);
  return concat(p.address, u8(p.length));
}

export function clientPrefixSecret(sgs: Uint8Array, prefix: Prefix): Uint8Array {
  return kdf(sgs, LABEL_CS, prefixContext(prefix), SECRET_LEN);
}

export function hostSecret(cs: Uint8Array, host: Uint8Array): Uint8Array {
  checkAddress(host);
  return kdf(cs, LABEL_HS, host, SECRET_LEN);
}

export interface FlowTuple {
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  protocol: number;
}

export function checkEpoch(epoch: number): void {
  if (!Number.isInteger(epoch) || epoch < 0 || epoch > 0xfff) throw new KeyScheduleError('BAD_EPOCH', 'epoch must be 12 bits');
}

export function stkContext(aeadId: number, epoch: number, t: FlowTuple): Uint8Array {
  aeadKeyLength(aeadId);
  checkEpoch(epoch);
  checkAddress(t.src);
  checkAddress(t.dst);
  for (const [name, v, max] of [
    ['sport', t.sport, 0xffff],
    ['dport', t.dport, 0xffff],
    ['protocol', t.protocol, 0xff],
  ] as const) {
    if (!Number.isInteger(v) || v < 0 || v > max) throw new KeyScheduleError('BAD_TUPLE', `${name} out of range`);
  }
  return concat(u16(aeadId), u16(epoch), t.src, t.dst, u16(t.sport), u16(t.dport), u8(t.protocol));
}

export function sessionTemporaryKey(hs: Uint8Array, aeadId: number, epoch: number, tuple: FlowTuple): Uint8Array {
  return kdf(hs, LABEL_STK, stkContext(aeadId, epoch, tuple), aeadKeyLength(aeadId));
}

/** Epoch = (generation mod 16) << 8 | rekey (docs/PROTOCOL.md §5.3). */
export function makeEpoch(generation: number, rekey: number): number {
  checkGeneration(generation);
  if (!Number.isInteger(rekey) || rekey < 0 || rekey > 0xff) throw new KeyScheduleError('BAD_EPOCH', 'rekey count must be 0..255');
  return ((generation & 0xf) << 8) | rekey;
}

export function splitEpoch(epoch: number): { generationLow4: number; rekey: number } {
  checkEpoch(epoch);
  return { generationLow4: epoch >> 8, rekey: epoch & 0xff };
}
