/**
 * ASCII-only JSON for the plaintexts of the enrollment and pairing messages
 * (docs/PROTOCOL.md §7.2), and small strict field readers.
 *
 * Encoding: JSON.stringify output with every character above U+007E escaped
 * as \uXXXX, so the octets are plain ASCII and no UTF-8 codec is needed on
 * QuickJS. Decoding: octets above 0x7E or control octets other than
 * tab/CR/LF are an error, then JSON.parse. Pure: no runtime API.
 */

export class FieldError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.name = 'FieldError';
    this.field = field;
  }
}

/** JSON text with every character above U+007E escaped: pure ASCII. */
export function jsonToAsciiString(value: unknown): string {
  return JSON.stringify(value).replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

export function jsonToAscii(value: unknown): Uint8Array {
  const text = jsonToAsciiString(value);
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}

export function asciiToString(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 4096) {
    const chunk = bytes.subarray(i, Math.min(bytes.length, i + 4096));
    for (const b of chunk) {
      if (b > 0x7e || (b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d)) {
        throw new FieldError('(message)', `octet 0x${b.toString(16)} is not printable ASCII`);
      }
    }
    s += String.fromCharCode(...chunk);
  }
  return s;
}

export function stringToAscii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7e) throw new FieldError('(text)', 'non-ASCII character');
    out[i] = c;
  }
  return out;
}

/** Parse an ASCII JSON object; throws FieldError when it is not one. */
export function parseJsonObject(bytes: Uint8Array): Record<string, unknown> {
  const text = asciiToString(bytes);
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new FieldError('(message)', 'not valid JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new FieldError('(message)', 'not a JSON object');
  return v as Record<string, unknown>;
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

export function reqObj(o: Obj, key: string, where = key): Obj {
  const v = o[key];
  if (!isObj(v)) throw new FieldError(where, 'must be an object');
  return v;
}

export function reqInt(o: Obj, key: string, min: number, max: number, where = key): number {
  const v = o[key];
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new FieldError(where, `must be an integer in ${min}..${max}`);
  }
  return v;
}

export function optInt(o: Obj, key: string, min: number, max: number, where = key): number | undefined {
  return o[key] === undefined ? undefined : reqInt(o, key, min, max, where);
}

export function reqStr(o: Obj, key: string, maxLen: number, pattern?: RegExp, where = key): string {
  const v = o[key];
  if (typeof v !== 'string' || v.length > maxLen) throw new FieldError(where, `must be a string of at most ${maxLen} characters`);
  if (pattern && !pattern.test(v)) throw new FieldError(where, 'has an invalid format');
  return v;
}

export function optStr(o: Obj, key: string, maxLen: number, pattern?: RegExp, where = key): string | undefined {
  return o[key] === undefined ? undefined : reqStr(o, key, maxLen, pattern, where);
}

export function reqEnum<T extends string>(o: Obj, key: string, values: readonly T[], where = key): T {
  const v = o[key];
  if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
    throw new FieldError(where, `must be one of ${values.join(', ')}`);
  }
  return v as T;
}

export function reqArray(o: Obj, key: string, maxLen: number, where = key): unknown[] {
  const v = o[key];
  if (!Array.isArray(v) || v.length > maxLen) throw new FieldError(where, `must be an array of at most ${maxLen} entries`);
  return v;
}

export const HEX_RE = /^[0-9a-f]*$/;

export function hexField(length: number): RegExp {
  return new RegExp(`^[0-9a-f]{${length * 2}}$`);
}
