// Checks firmware/src/polyfills.ts under real QuickJS. Build and run:
//   npx esbuild test/qjs/polyfills-check.ts --bundle --format=esm --platform=neutral \
//     --external:std --external:os --outfile=/tmp/pc.mjs && build/qjs --std -m /tmp/pc.mjs
import '../../firmware/src/polyfills.js';
import * as std from 'std';

interface Encoder {
  encoding: string;
  encode(s?: string): Uint8Array;
  encodeInto(s: string, d: Uint8Array): { read: number; written: number };
}
interface Decoder {
  encoding: string;
  fatal: boolean;
  ignoreBOM: boolean;
  decode(b?: ArrayBuffer | ArrayBufferView, o?: { stream?: boolean }): string;
}
const qstd = std as { exit(code: number): never; out: { puts(s: string): void; flush(): void } };
const log = (s: string): void => qstd.out.puts(s + '\n');
const g = globalThis as unknown as {
  crypto: { getRandomValues<T extends ArrayBufferView>(a: T): T };
  TextEncoder: new () => Encoder;
  TextDecoder: new (label?: string, o?: { fatal?: boolean; ignoreBOM?: boolean }) => Decoder;
};

let passed = 0;
let failed = 0;
function check(name: string, ok: boolean, detail = ''): void {
  if (ok) passed++;
  else {
    failed++;
    log(`FAIL ${name}${detail ? ': ' + detail : ''}`);
  }
}
function throws(name: string, f: () => unknown, type: Function, errName?: string): void {
  try {
    f();
    check(name, false, 'did not throw');
  } catch (e) {
    check(name, e instanceof type && (errName === undefined || (e as Error).name === errName), String(e));
  }
}
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
const codes = (s: string): string => Array.from({ length: s.length }, (_, i) => s.charCodeAt(i).toString(16)).join(' ');

// --- crypto.getRandomValues ---------------------------------------------------
const cr = g.crypto;
check('crypto installed', typeof cr?.getRandomValues === 'function');
const r1 = new Uint8Array(256);
check('returns same array', cr.getRandomValues(r1) === r1);
check('256 random bytes: >= 150 distinct values', new Set(r1).size >= 150, `${new Set(r1).size}`);
const r2 = cr.getRandomValues(new Uint8Array(256));
check('two calls differ', hex(r1) !== hex(r2));
const w = cr.getRandomValues(new Uint32Array(16));
check('Uint32Array filled', new Set(w).size === 16);
const big = cr.getRandomValues(new BigUint64Array(4));
check('BigUint64Array filled', big.some((x) => x !== 0n));
const sub = new Uint8Array(64);
cr.getRandomValues(sub.subarray(16, 32));
check('subarray: only the view is filled', sub.slice(0, 16).every((x) => x === 0) && sub.slice(32).every((x) => x === 0) && sub.slice(16, 32).some((x) => x !== 0));
check('65536 bytes allowed', cr.getRandomValues(new Uint8Array(65536)).length === 65536);
throws('65537 bytes -> QuotaExceededError', () => cr.getRandomValues(new Uint8Array(65537)), Error, 'QuotaExceededError');
throws('Float32Array -> TypeError', () => cr.getRandomValues(new Float32Array(4)), TypeError);
throws('Float64Array -> TypeError', () => cr.getRandomValues(new Float64Array(4)), TypeError);
throws('DataView -> TypeError', () => cr.getRandomValues(new DataView(new ArrayBuffer(4))), TypeError);

// --- TextEncoder ----------------------------------------------------------------
const enc = new g.TextEncoder();
const encCases: [string, string, string][] = [
  ['ASCII', 'Hello, PDMv2!', '48 65 6c 6c 6f 2c 20 50 44 4d 76 32 21'],
  ['empty', '', ''],
  ['2-byte', '\u00e9\u07ff', 'c3 a9 df bf'],
  ['3-byte', '\u20ac\uffff', 'e2 82 ac ef bf bf'],
  ['4-byte', '\u{1f600}\u{10ffff}', 'f0 9f 98 80 f4 8f bf bf'],
  ['lone high surrogate', 'a\ud800b', '61 ef bf bd 62'],
  ['lone low surrogate', '\udc00', 'ef bf bd'],
  ['reversed pair', '\udc00\ud800', 'ef bf bd ef bf bd'],
  ['trailing high surrogate', 'x\udbff', '78 ef bf bd'],
];
check('encoding is utf-8', enc.encoding === 'utf-8');
for (const [name, s, want] of encCases) {
  const got = hex(enc.encode(s));
  check(`encode ${name}`, got === want, got);
}
check('encode() with no argument', enc.encode().length === 0);
const dest = new Uint8Array(5);
let res = enc.encodeInto('a\u20ac\u{1f600}', dest);
check('encodeInto stops before a char that does not fit', res.read === 2 && res.written === 4 && hex(dest.subarray(0, 4)) === '61 e2 82 ac', JSON.stringify(res));
res = enc.encodeInto('\u{1f600}', new Uint8Array(4));
check('encodeInto counts UTF-16 units read', res.read === 2 && res.written === 4, JSON.stringify(res));

// --- TextDecoder ----------------------------------------------------------------
const dec = new g.TextDecoder();
const b = (...x: number[]): Uint8Array => new Uint8Array(x);
check('decoder encoding/fatal/ignoreBOM', dec.encoding === 'utf-8' && !dec.fatal && !dec.ignoreBOM);
for (const [name, s] of encCases.slice(0, 5)) {
  check(`round trip ${name}`, dec.decode(enc.encode(s)) === s);
}
const all: string[] = [];
for (let cp = 0; cp <= 0x10ffff; cp += cp < 0x800 ? 1 : 97) if (cp < 0xd800 || cp > 0xdfff) all.push(String.fromCodePoint(cp));
const allStr = all.join('');
check('round trip across code point space', dec.decode(enc.encode(allStr)) === allStr);
check('encoded lone surrogate decodes to U+FFFD', dec.decode(enc.encode('\ud800')) === '\ufffd');
const decCases: [string, Uint8Array, string][] = [
  ['invalid byte FF', b(0x61, 0xff, 0x62), '61 fffd 62'],
  ['bare continuation', b(0x80, 0xbf), 'fffd fffd'],
  ['overlong C0 80', b(0xc0, 0x80), 'fffd fffd'],
  ['overlong E0 80 80', b(0xe0, 0x80, 0x80), 'fffd fffd fffd'],
  ['encoded surrogate ED A0 80', b(0xed, 0xa0, 0x80), 'fffd fffd fffd'],
  ['above U+10FFFF F4 90 80 80', b(0xf4, 0x90, 0x80, 0x80), 'fffd fffd fffd fffd'],
  ['truncated 3-byte at end', b(0x41, 0xe2, 0x82), '41 fffd'],
  ['truncated 4-byte then ASCII', b(0xf0, 0x9f, 0x98, 0x41), 'fffd 41'],
  ['BOM stripped', b(0xef, 0xbb, 0xbf, 0x41), '41'],
  ['only first BOM stripped', b(0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf), 'feff'],
  ['astral pair', b(0xf0, 0x90, 0x80, 0x80), 'd800 dc00'],
];
for (const [name, bytes, want] of decCases) {
  const got = codes(dec.decode(bytes));
  check(`decode ${name}`, got === want, got);
}
check('ignoreBOM keeps BOM', new g.TextDecoder('utf-8', { ignoreBOM: true }).decode(b(0xef, 0xbb, 0xbf, 0x41)) === '\ufeffA');
check('decode ArrayBuffer and DataView', dec.decode(b(0x68, 0x69).buffer as ArrayBuffer) === 'hi' && dec.decode(new DataView(b(0, 0x68, 0x69).buffer, 1)) === 'hi');
check('decode() with no argument', dec.decode() === '');
check('labels', new g.TextDecoder(' UTF8 ').encoding === 'utf-8' && new g.TextDecoder('unicode-1-1-utf-8').encoding === 'utf-8');
throws('unsupported label -> RangeError', () => new g.TextDecoder('latin1'), RangeError);
const sd = new g.TextDecoder();
const streamed = sd.decode(b(0xef, 0xbb), { stream: true }) + sd.decode(b(0xbf, 0xe2), { stream: true }) + sd.decode(b(0x82), { stream: true }) + sd.decode(b(0xac));
check('streaming split sequences + BOM', streamed === '\u20ac', codes(streamed));
check('stream flush of incomplete tail', sd.decode(b(0xe2), { stream: true }) === '' && sd.decode() === '\ufffd');
const fatal = new g.TextDecoder('utf-8', { fatal: true });
check('fatal flag', fatal.fatal);
throws('fatal: invalid byte -> TypeError', () => fatal.decode(b(0x61, 0xff)), TypeError);
throws('fatal: encoded surrogate -> TypeError', () => fatal.decode(b(0xed, 0xa0, 0x80)), TypeError);
throws('fatal: truncated -> TypeError', () => fatal.decode(b(0xe2, 0x82)), TypeError);
check('fatal decoder usable after error', fatal.decode(b(0xe2, 0x82, 0xac)) === '\u20ac');
const longAscii = 'x'.repeat(100000);
check('long input (chunked output)', dec.decode(enc.encode(longAscii)) === longAscii);

log(`${passed} passed, ${failed} failed`);
qstd.out.flush();
qstd.exit(failed === 0 ? 0 : 1);
