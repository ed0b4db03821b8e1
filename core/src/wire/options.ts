/**
 * Codec for the PDM destination option in its four recognised forms
 * (docs/PROTOCOL.md §1). Decoders return a result object and never throw on
 * bad input; encoders throw RangeError on out-of-range fields, because those
 * are programming errors, not wire errors.
 */
import { readU16, readU32, writeU16, writeU32 } from '../util/bytes.js';

export const PDM_OPTION_TYPE = 0x0f;
export const PDMV2_VERSION = 2;

export const OPT_LEN_V1 = 10;
export const OPT_LEN_DRAFT_CLEAR = 18;
export const OPT_LEN_CLEAR = 22;
export const OPT_LEN_ENCRYPTED = 34;

/** Octets of the encrypted option covered by the AAD and sent in clear. */
export const ENCRYPTED_CLEAR_PART = 8;
export const METRICS_BLOCK_LEN = 16;
export const TAG_LEN = 12;

export type OptionError =
  | 'TRUNCATED'
  | 'TRAILING_DATA'
  | 'NOT_PDM'
  | 'BAD_LENGTH'
  | 'BAD_VERSION'
  | 'RESERVED_NONZERO';

export interface PdmV1 {
  format: 'pdm-v1';
  scaleDtlr: number;
  scaleDtls: number;
  psntp: number;
  psnlr: number;
  deltaTlr: number;
  deltaTls: number;
}

/** Fields shared by the clear option and the encrypted option's metrics block. */
export interface Pdmv2Metrics {
  psnlr: number;
  globalPointer: number;
  scaleDtlr: number;
  scaleDtls: number;
  deltaTlr: number;
  deltaTls: number;
}

export interface Pdmv2Clear extends Pdmv2Metrics {
  format: 'pdmv2-clear';
  epoch: number;
  psntp: number;
}

export interface Pdmv2DraftClear {
  format: 'pdmv2-draft-clear';
  random: number;
  flag: number;
  scaleDtlr: number;
  scaleDtls: number;
  globalPointer: number;
  psntp: number;
  psnlr: number;
  deltaTlr: number;
  deltaTls: number;
}

/** The encrypted form as seen without a key: only the authenticated clear part. */
export interface Pdmv2Encrypted {
  format: 'pdmv2-encrypted';
  epoch: number;
  psntp: number;
  ciphertext: Uint8Array;
  tag: Uint8Array;
}

export type PdmOption = PdmV1 | Pdmv2Clear | Pdmv2DraftClear | Pdmv2Encrypted;

export type DecodeResult<T> = { ok: true; value: T } | { ok: false; error: OptionError };

export interface DecodeOptions {
  /** The draft says receivers ignore reserved bits; strict mode reports them. */
  allowReserved?: boolean;
}

function fail<T>(error: OptionError): DecodeResult<T> {
  return { ok: false, error };
}

/** Decode exactly one option: `bytes` runs from the type octet to the last data octet. */
export function decodeOption(bytes: Uint8Array, opts: DecodeOptions = {}): DecodeResult<PdmOption> {
  if (bytes.length < 2) return fail('TRUNCATED');
  if (bytes[0] !== PDM_OPTION_TYPE) return fail('NOT_PDM');
  const len = bytes[1]!;
  if (len !== OPT_LEN_V1 && len !== OPT_LEN_DRAFT_CLEAR && len !== OPT_LEN_CLEAR && len !== OPT_LEN_ENCRYPTED) {
    return fail('BAD_LENGTH');
  }
  if (bytes.length < 2 + len) return fail('TRUNCATED');
  if (bytes.length > 2 + len) return fail('TRAILING_DATA');

  if (len === OPT_LEN_V1) {
    return {
      ok: true,
      value: {
        format: 'pdm-v1',
        scaleDtlr: bytes[2]!,
        scaleDtls: bytes[3]!,
        psntp: readU16(bytes, 4),
        psnlr: readU16(bytes, 6),
        deltaTlr: readU16(bytes, 8),
        deltaTls: readU16(bytes, 10),
      },
    };
  }

  const versionWord = readU16(bytes, 2);
  if (versionWord >> 12 !== PDMV2_VERSION) return fail('BAD_VERSION');
  const low12 = versionWord & 0x0fff;

  if (len === OPT_LEN_DRAFT_CLEAR) {
    if (low12 !== 0 && !opts.allowReserved) return fail('RESERVED_NONZERO');
    const randomWord = readU16(bytes, 4);
    return {
      ok: true,
      value: {
        format: 'pdmv2-draft-clear',
        random: randomWord >> 1,
        flag: randomWord & 1,
        scaleDtlr: bytes[6]!,
        scaleDtls: bytes[7]!,
        globalPointer: readU32(bytes, 8),
        psntp: readU16(bytes, 12),
        psnlr: readU16(bytes, 14),
        deltaTlr: readU16(bytes, 16),
        deltaTls: readU16(bytes, 18),
      },
    };
  }

  if (len === OPT_LEN_ENCRYPTED) {
    return {
      ok: true,
      value: {
        format: 'pdmv2-encrypted',
        epoch: low12,
        psntp: readU32(bytes, 4),
        ciphertext: bytes.slice(8, 8 + METRICS_BLOCK_LEN),
        tag: bytes.slice(8 + METRICS_BLOCK_LEN, 8 + METRICS_BLOCK_LEN + TAG_LEN),
      },
    };
  }

  const metrics = decodeMetricsBlock(bytes.subarray(8, 8 + METRICS_BLOCK_LEN), opts);
  if (!metrics.ok) return metrics;
  return {
    ok: true,
    value: { format: 'pdmv2-clear', epoch: low12, psntp: readU32(bytes, 4), ...metrics.value },
  };
}

/** Decode the 16-octet metrics block (clear option octets 8..23, or a decrypted plaintext). */
export function decodeMetricsBlock(block: Uint8Array, opts: DecodeOptions = {}): DecodeResult<Pdmv2Metrics> {
  if (block.length < METRICS_BLOCK_LEN) return fail('TRUNCATED');
  if (block.length > METRICS_BLOCK_LEN) return fail('TRAILING_DATA');
  if (readU16(block, 10) !== 0 && !opts.allowReserved) return fail('RESERVED_NONZERO');
  return {
    ok: true,
    value: {
      psnlr: readU32(block, 0),
      globalPointer: readU32(block, 4),
      scaleDtlr: block[8]!,
      scaleDtls: block[9]!,
      deltaTlr: readU16(block, 12),
      deltaTls: readU16(block, 14),
    },
  };
}

function checkUint(name: string, value: number, bits: number): void {
  const max = bits === 32 ? 0xffffffff : (1 << bits) - 1;
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`${name} must be an integer in 0..${max}, got ${value}`);
  }
}

/** Field widths in bits, one table per format, so each encoder checks every field it writes. */
type Widths<T> = { [K in keyof T]?: number };

function checkFields<T extends object>(fields: T, widths: Widths<T>): void {
  for (const name of Object.keys(widths) as Array<keyof T & string>) {
    checkUint(name, fields[name] as number, widths[name]!);
  }
}

const METRICS_WIDTHS: Widths<Pdmv2Metrics> = { psnlr: 32, globalPointer: 32, scaleDtlr: 8, scaleDtls: 8, deltaTlr: 16, deltaTls: 16 };
const V1_WIDTHS: Widths<PdmV1> = { scaleDtlr: 8, scaleDtls: 8, psntp: 16, psnlr: 16, deltaTlr: 16, deltaTls: 16 };
const DRAFT_WIDTHS: Widths<Pdmv2DraftClear> = {
  random: 15,
  flag: 1,
  scaleDtlr: 8,
  scaleDtls: 8,
  globalPointer: 32,
  psntp: 16,
  psnlr: 16,
  deltaTlr: 16,
  deltaTls: 16,
};

export function encodeMetricsBlock(m: Pdmv2Metrics): Uint8Array {
  checkFields(m, METRICS_WIDTHS);
  const b = new Uint8Array(METRICS_BLOCK_LEN);
  writeU32(b, 0, m.psnlr);
  writeU32(b, 4, m.globalPointer);
  b[8] = m.scaleDtlr;
  b[9] = m.scaleDtls;
  writeU16(b, 12, m.deltaTlr);
  writeU16(b, 14, m.deltaTls);
  return b;
}

export function versionEpochWord(epoch: number): number {
  checkUint('epoch', epoch, 12);
  return (PDMV2_VERSION << 12) | epoch;
}

/** The 8 octets sent in clear and authenticated in the encrypted form. */
export function encryptedHeader(epoch: number, psntp: number): Uint8Array {
  checkUint('psntp', psntp, 32);
  const b = new Uint8Array(ENCRYPTED_CLEAR_PART);
  b[0] = PDM_OPTION_TYPE;
  b[1] = OPT_LEN_ENCRYPTED;
  writeU16(b, 2, versionEpochWord(epoch));
  writeU32(b, 4, psntp);
  return b;
}

export function encodeClear(o: Omit<Pdmv2Clear, 'format'>): Uint8Array {
  checkUint('psntp', o.psntp, 32);
  const b = new Uint8Array(2 + OPT_LEN_CLEAR);
  b[0] = PDM_OPTION_TYPE;
  b[1] = OPT_LEN_CLEAR;
  writeU16(b, 2, versionEpochWord(o.epoch));
  writeU32(b, 4, o.psntp);
  b.set(encodeMetricsBlock(o), 8);
  return b;
}

export function encodeV1(o: Omit<PdmV1, 'format'>): Uint8Array {
  checkFields(o, V1_WIDTHS);
  const b = new Uint8Array(2 + OPT_LEN_V1);
  b[0] = PDM_OPTION_TYPE;
  b[1] = OPT_LEN_V1;
  b[2] = o.scaleDtlr;
  b[3] = o.scaleDtls;
  writeU16(b, 4, o.psntp);
  writeU16(b, 6, o.psnlr);
  writeU16(b, 8, o.deltaTlr);
  writeU16(b, 10, o.deltaTls);
  return b;
}

/**
 * The older draft's clear form. The project never emits it; the encoder
 * exists so that tests and vectors can produce what other implementations send.
 */
export function encodeDraftClear(o: Omit<Pdmv2DraftClear, 'format'>): Uint8Array {
  checkFields(o, DRAFT_WIDTHS);
  const b = new Uint8Array(2 + OPT_LEN_DRAFT_CLEAR);
  b[0] = PDM_OPTION_TYPE;
  b[1] = OPT_LEN_DRAFT_CLEAR;
  writeU16(b, 2, PDMV2_VERSION << 12);
  writeU16(b, 4, (o.random << 1) | o.flag);
  b[6] = o.scaleDtlr;
  b[7] = o.scaleDtls;
  writeU32(b, 8, o.globalPointer);
  writeU16(b, 12, o.psntp);
  writeU16(b, 14, o.psnlr);
  writeU16(b, 16, o.deltaTlr);
  writeU16(b, 18, o.deltaTls);
  return b;
}

export function encodeEncrypted(epoch: number, psntp: number, ciphertext: Uint8Array, tag: Uint8Array): Uint8Array {
  if (ciphertext.length !== METRICS_BLOCK_LEN) throw new RangeError('ciphertext must be 16 octets');
  if (tag.length !== TAG_LEN) throw new RangeError('tag must be 12 octets');
  const b = new Uint8Array(2 + OPT_LEN_ENCRYPTED);
  b.set(encryptedHeader(epoch, psntp), 0);
  b.set(ciphertext, ENCRYPTED_CLEAR_PART);
  b.set(tag, ENCRYPTED_CLEAR_PART + METRICS_BLOCK_LEN);
  return b;
}
