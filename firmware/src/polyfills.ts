// Web APIs that QuickJS lacks but @noble/* and our code use: crypto.getRandomValues
// (from /dev/urandom via QuickJS's `std` module) and UTF-8 TextEncoder/TextDecoder.
// Importing this module installs them (only where absent), so `import './polyfills.js'`
// must be the first import of a QuickJS entry point, before @noble is evaluated.
import * as std from 'std';

interface QjsFile {
  read(buffer: ArrayBuffer, position: number, length: number): number;
}
interface QjsStd {
  open(path: string, mode: string): QjsFile | null;
}

const MAX_RANDOM_BYTES = 65536;
let urandom: QjsFile | null = null;

function getRandomValues<T extends ArrayBufferView>(array: T): T {
  if (
    !(array instanceof Int8Array || array instanceof Uint8Array || array instanceof Uint8ClampedArray ||
      array instanceof Int16Array || array instanceof Uint16Array || array instanceof Int32Array ||
      array instanceof Uint32Array || array instanceof BigInt64Array || array instanceof BigUint64Array)
  ) {
    throw new TypeError('crypto.getRandomValues: argument must be an integer TypedArray');
  }
  const len = array.byteLength;
  if (len > MAX_RANDOM_BYTES) {
    const e = new Error(`crypto.getRandomValues: ${len} bytes requested, at most ${MAX_RANDOM_BYTES} allowed`);
    e.name = 'QuotaExceededError';
    throw e;
  }
  if (len === 0) return array;
  urandom ??= (std as QjsStd).open('/dev/urandom', 'rb');
  if (urandom === null) throw new Error('crypto.getRandomValues: cannot open /dev/urandom');
  if (urandom.read(array.buffer as ArrayBuffer, array.byteOffset, len) !== len) {
    throw new Error('crypto.getRandomValues: short read from /dev/urandom');
  }
  return array;
}

/** UTF-8 encodes `s` into `dest`, lone surrogates as U+FFFD; stops before a character that does not fit. */
function utf8EncodeInto(s: string, dest: Uint8Array): { read: number; written: number } {
  const n = s.length;
  const cap = dest.length;
  let read = 0;
  let written = 0;
  while (read < n) {
    let c = s.charCodeAt(read);
    let units = 1;
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = read + 1 < n ? s.charCodeAt(read + 1) : 0;
      if (c <= 0xdbff && d >= 0xdc00 && d <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        units = 2;
      } else {
        c = 0xfffd;
      }
    }
    if (c < 0x80) {
      if (written >= cap) break;
      dest[written++] = c;
    } else if (c < 0x800) {
      if (written + 2 > cap) break;
      dest[written++] = 0xc0 | (c >> 6);
      dest[written++] = 0x80 | (c & 0x3f);
    } else if (c < 0x10000) {
      if (written + 3 > cap) break;
      dest[written++] = 0xe0 | (c >> 12);
      dest[written++] = 0x80 | ((c >> 6) & 0x3f);
      dest[written++] = 0x80 | (c & 0x3f);
    } else {
      if (written + 4 > cap) break;
      dest[written++] = 0xf0 | (c >> 18);
      dest[written++] = 0x80 | ((c >> 12) & 0x3f);
      dest[written++] = 0x80 | ((c >> 6) & 0x3f);
      dest[written++] = 0x80 | (c & 0x3f);
    }
    read += units;
  }
  return { read, written };
}

class TextEncoder {
  get encoding(): string {
    return 'utf-8';
  }
  encode(input: unknown = ''): Uint8Array {
    const s = String(input);
    const out = new Uint8Array(s.length * 3);
    return out.slice(0, utf8EncodeInto(s, out).written);
  }
  encodeInto(source: unknown, destination: Uint8Array): { read: number; written: number } {
    if (!(destination instanceof Uint8Array)) throw new TypeError('TextEncoder.encodeInto: destination must be a Uint8Array');
    return utf8EncodeInto(String(source), destination);
  }
}

const UTF8_LABELS = ['unicode-1-1-utf-8', 'unicode11utf8', 'unicode20utf8', 'utf-8', 'utf8', 'x-unicode20utf8'];

function toBytes(input: unknown): Uint8Array {
  if (input === undefined) return new Uint8Array(0);
  if (input instanceof ArrayBuffer || (typeof SharedArrayBuffer === 'function' && input instanceof SharedArrayBuffer)) {
    return new Uint8Array(input);
  }
  if (ArrayBuffer.isView(input)) return new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  throw new TypeError('TextDecoder.decode: input must be an ArrayBuffer or ArrayBufferView');
}

/** WHATWG Encoding Standard UTF-8 decoder (maximal-subpart U+FFFD replacement), with streaming. */
class TextDecoder {
  readonly #fatal: boolean;
  readonly #ignoreBOM: boolean;
  #doNotFlush = false;
  #bomSeen = false;
  #cp = 0;
  #needed = 0;
  #seen = 0;
  #lower = 0x80;
  #upper = 0xbf;

  constructor(label: unknown = 'utf-8', options?: { fatal?: boolean; ignoreBOM?: boolean }) {
    const l = String(label).replace(/^[\t\n\f\r ]+|[\t\n\f\r ]+$/g, '').toLowerCase();
    if (!UTF8_LABELS.includes(l)) throw new RangeError(`TextDecoder: unsupported encoding '${String(label)}' (utf-8 only)`);
    this.#fatal = Boolean(options?.fatal);
    this.#ignoreBOM = Boolean(options?.ignoreBOM);
  }
  get encoding(): string {
    return 'utf-8';
  }
  get fatal(): boolean {
    return this.#fatal;
  }
  get ignoreBOM(): boolean {
    return this.#ignoreBOM;
  }

  decode(input?: unknown, options?: { stream?: boolean }): string {
    const bytes = toBytes(input);
    if (!this.#doNotFlush) {
      this.#bomSeen = false;
      this.#cp = this.#needed = this.#seen = 0;
      this.#lower = 0x80;
      this.#upper = 0xbf;
    }
    this.#doNotFlush = Boolean(options?.stream);
    let cp = this.#cp;
    let needed = this.#needed;
    let seen = this.#seen;
    let lower = this.#lower;
    let upper = this.#upper;
    let out = '';
    const units: number[] = [];
    const emit = (c: number): void => {
      if (!this.#bomSeen) {
        this.#bomSeen = true;
        if (c === 0xfeff && !this.#ignoreBOM) return;
      }
      if (c > 0xffff) {
        c -= 0x10000;
        units.push(0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
      } else {
        units.push(c);
      }
      if (units.length >= 8192) {
        out += String.fromCharCode(...units);
        units.length = 0;
      }
    };
    const error = (): void => {
      if (this.#fatal) {
        this.#doNotFlush = false;
        throw new TypeError('TextDecoder: invalid UTF-8 data');
      }
      emit(0xfffd);
    };
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      if (needed === 0) {
        if (b <= 0x7f) emit(b);
        else if (b >= 0xc2 && b <= 0xdf) {
          needed = 1;
          cp = b & 0x1f;
        } else if (b >= 0xe0 && b <= 0xef) {
          if (b === 0xe0) lower = 0xa0;
          else if (b === 0xed) upper = 0x9f;
          needed = 2;
          cp = b & 0x0f;
        } else if (b >= 0xf0 && b <= 0xf4) {
          if (b === 0xf0) lower = 0x90;
          else if (b === 0xf4) upper = 0x8f;
          needed = 3;
          cp = b & 0x07;
        } else error();
      } else if (b < lower || b > upper) {
        cp = needed = seen = 0;
        lower = 0x80;
        upper = 0xbf;
        i--; // reprocess this byte as the start of a new sequence
        error();
      } else {
        lower = 0x80;
        upper = 0xbf;
        cp = (cp << 6) | (b & 0x3f);
        if (++seen === needed) {
          emit(cp);
          cp = needed = seen = 0;
        }
      }
    }
    if (!this.#doNotFlush && needed !== 0) {
      cp = needed = seen = 0;
      lower = 0x80;
      upper = 0xbf;
      error();
    }
    this.#cp = cp;
    this.#needed = needed;
    this.#seen = seen;
    this.#lower = lower;
    this.#upper = upper;
    return out + String.fromCharCode(...units);
  }
}

function define(target: object, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
}

/** Installs crypto.getRandomValues, TextEncoder and TextDecoder on globalThis where they are missing. */
export function installPolyfills(): void {
  const g = globalThis as unknown as Record<string, unknown>;
  let c = g['crypto'];
  if (typeof c !== 'object' || c === null) define(g, 'crypto', (c = {}));
  if (typeof (c as Record<string, unknown>)['getRandomValues'] !== 'function') {
    define(c as object, 'getRandomValues', getRandomValues);
  }
  if (typeof g['TextEncoder'] !== 'function') define(g, 'TextEncoder', TextEncoder);
  if (typeof g['TextDecoder'] !== 'function') define(g, 'TextDecoder', TextDecoder);
}

installPolyfills();
