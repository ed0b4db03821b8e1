/**
 * RFC 8250 delta encoding: DELTA (16 bits) × 2^SCALE attoseconds, computed
 * exactly with integers (docs/PROTOCOL.md §3) so that the kernel's C code and
 * this file produce identical fields.
 */

export interface EncodedDelta {
  delta: number;
  scale: number;
}

export const ATTOSECONDS_PER_NANOSECOND = 1_000_000_000n;
export const MAX_DELTA = 0xffff;
export const MAX_SCALE = 255;
/** The largest duration the fields can express: 0xFFFF × 2^255 attoseconds. */
export const MAX_ENCODABLE_ATTOSECONDS = BigInt(MAX_DELTA) << BigInt(MAX_SCALE);

function bitLength(x: bigint): number {
  return x === 0n ? 0 : x.toString(2).length;
}

export function encodeAttoseconds(attoseconds: bigint): EncodedDelta {
  if (attoseconds <= 0n) return { delta: 0, scale: 0 };
  const bits = bitLength(attoseconds);
  if (bits <= 16) return { delta: Number(attoseconds), scale: 0 };
  let scale = bits - 16;
  let delta = (attoseconds + (1n << BigInt(scale - 1))) >> BigInt(scale);
  if (delta === 0x10000n) {
    delta = 0x8000n;
    scale += 1;
  }
  if (scale > MAX_SCALE) return { delta: MAX_DELTA, scale: MAX_SCALE };
  return { delta: Number(delta), scale };
}

/** Nanoseconds as a bigint (exact) or a safe integer number; negative durations encode as zero. */
export function encodeNanoseconds(nanoseconds: bigint | number): EncodedDelta {
  const ns = typeof nanoseconds === 'bigint' ? nanoseconds : BigInt(Math.trunc(nanoseconds));
  return encodeAttoseconds(ns * ATTOSECONDS_PER_NANOSECOND);
}

export function decodeAttoseconds(e: EncodedDelta): bigint {
  if (!Number.isInteger(e.delta) || e.delta < 0 || e.delta > MAX_DELTA) throw new RangeError('delta out of range');
  if (!Number.isInteger(e.scale) || e.scale < 0 || e.scale > MAX_SCALE) throw new RangeError('scale out of range');
  return BigInt(e.delta) << BigInt(e.scale);
}

/** Decoded value in nanoseconds as a float, for reports (precision is bounded by the encoding anyway). */
export function decodeNanoseconds(e: EncodedDelta): number {
  const as = decodeAttoseconds(e);
  const whole = as / ATTOSECONDS_PER_NANOSECOND;
  const frac = as % ATTOSECONDS_PER_NANOSECOND;
  return Number(whole) + Number(frac) / 1e9;
}

/** Upper bound of |decoded − exact| for an encoded value: half a unit of the last place. */
export function encodingErrorBound(e: EncodedDelta): bigint {
  return e.scale === 0 ? 0n : 1n << BigInt(e.scale - 1);
}
