/// <reference types="node" />
// RFC 8250 delta encoding (docs/PROTOCOL.md §3): documented cases, exactness,
// rounding carry, saturation, monotonicity, error bounds, input checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../build/repo-root.js';
import {
  ATTOSECONDS_PER_NANOSECOND,
  decodeAttoseconds,
  decodeNanoseconds,
  encodeAttoseconds,
  encodeNanoseconds,
  encodingErrorBound,
  MAX_DELTA,
  MAX_ENCODABLE_ATTOSECONDS,
  MAX_SCALE,
  type EncodedDelta,
} from '../core/src/time/delta.js';

const NS = 1_000_000_000n;
const MAX = 0xffffn << 255n;

/**
 * An independent reference: the smallest scale whose half-up rounded delta
 * fits in 16 bits (equivalent to PROTOCOL.md §3 steps 1–4, written differently).
 */
function reference(a: bigint): EncodedDelta {
  if (a <= 0n) return { delta: 0, scale: 0 };
  for (let s = 0n; s <= 300n; s++) {
    const d = s === 0n ? a : (a + (1n << (s - 1n))) / (1n << s);
    if (d <= 0xffffn) {
      if (s > 255n) return { delta: 0xffff, scale: 255 };
      return { delta: Number(d), scale: Number(s) };
    }
  }
  return { delta: 0xffff, scale: 255 };
}

/** A random non-negative bigint of 0..bits bits, with uniformly chosen bit length. */
function randomBig(maxBits: number): bigint {
  const bits = randomInt(maxBits + 1);
  if (bits === 0) return 0n;
  const bytes = randomBytes(Math.ceil(bits / 8));
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  v &= (1n << BigInt(bits)) - 1n;
  return v | (1n << BigInt(bits - 1));
}

const abs = (x: bigint): bigint => (x < 0n ? -x : x);

test('constants', () => {
  assert.is(ATTOSECONDS_PER_NANOSECOND, NS);
  assert.is(MAX_DELTA, 0xffff);
  assert.is(MAX_SCALE, 255);
  assert.is(MAX_ENCODABLE_ATTOSECONDS, MAX);
});

test('documented case: 0 → (0, 0)', () => {
  assert.equal(encodeAttoseconds(0n), { delta: 0, scale: 0 });
  assert.equal(encodeNanoseconds(0), { delta: 0, scale: 0 });
  assert.equal(encodeNanoseconds(0n), { delta: 0, scale: 0 });
  assert.is(decodeAttoseconds({ delta: 0, scale: 0 }), 0n);
});

test('documented case: 1 ns → (61035, 14), decoded 999 997 440 as, error 2 560 as', () => {
  const e = encodeNanoseconds(1);
  assert.equal(e, { delta: 61035, scale: 14 });
  assert.equal(encodeAttoseconds(NS), e);
  assert.is(decodeAttoseconds(e), 999_997_440n);
  assert.is(NS - decodeAttoseconds(e), 2560n);
});

test('documented case: 1 µs → (59605, 24), decoded 1 000 005 959 680 as', () => {
  // PROTOCOL.md §3 prints "1 000 000 716 800 (approx.)"; 59605 × 2^24 is 1 000 005 959 680.
  const e = encodeNanoseconds(1000);
  assert.equal(e, { delta: 59605, scale: 24 });
  const dec = decodeAttoseconds(e);
  assert.is(dec, 59605n << 24n);
  assert.is(dec, 1_000_005_959_680n);
  assert.ok(abs(dec - 10n ** 12n) <= 1n << 23n);
});

test('documented case: 1 s → (56843, 44), error ≤ 2^43 as', () => {
  // 10^18 / 2^44 = 56843.42 → 56843 (PROTOCOL.md §3 prints 55511, see the table test below).
  const e = encodeNanoseconds(1_000_000_000);
  assert.equal(e, { delta: 56843, scale: 44 });
  assert.is(decodeAttoseconds(e), 999_992_631_322_738_688n);
  assert.ok(abs(decodeAttoseconds(e) - 10n ** 18n) <= 1n << 43n);
});

test('documented case: 1 h → scale 56, error ≤ 2^55 as', () => {
  const a = 3_600_000_000_000n * NS;
  const e = encodeNanoseconds(3_600_000_000_000);
  assert.is(e.scale, 56);
  assert.equal(e, reference(a));
  assert.ok(abs(decodeAttoseconds(e) - a) <= 1n << 55n);
  assert.equal(encodeAttoseconds(a), e);
});

test('exact for every value below 65536 as (scale 0)', () => {
  for (let a = 0; a < 65536; a++) {
    const e = encodeAttoseconds(BigInt(a));
    if (e.delta !== a || e.scale !== 0) assert.unreachable(`${a} encoded as ${JSON.stringify(e)}`);
    if (decodeAttoseconds(e) !== BigInt(a)) assert.unreachable(`${a} decoded wrong`);
  }
  assert.equal(encodeAttoseconds(65535n), { delta: 65535, scale: 0 });
  assert.is(encodingErrorBound({ delta: 65535, scale: 0 }), 0n);
});

test('first scaled values: 65536 → (32768, 1), 65537 → (32769, 1) (round half up)', () => {
  assert.equal(encodeAttoseconds(65536n), { delta: 32768, scale: 1 });
  assert.equal(encodeAttoseconds(65537n), { delta: 32769, scale: 1 }, '65537/2 = 32768.5 rounds up');
  assert.equal(encodeAttoseconds(65538n), { delta: 32769, scale: 1 });
  // 2^17 + 2 = 131074: b = 18, s = 2, (131074 + 2) >> 2 = 32769
  assert.equal(encodeAttoseconds(131074n), { delta: 32769, scale: 2 });
  // s = 2: 131077 / 4 = 32769.25 → 32769, 131078 / 4 = 32769.5 → 32770
  assert.equal(encodeAttoseconds(131077n), { delta: 32769, scale: 2 });
  assert.equal(encodeAttoseconds(131078n), { delta: 32770, scale: 2 });
});

test('rounding carry: 131071 → (0x8000, 2), not (0x10000, 1)', () => {
  const e = encodeAttoseconds(131071n);
  assert.equal(e, { delta: 0x8000, scale: 2 });
  assert.is(decodeAttoseconds(e), 131072n);
  // The same carry at every scale: 2^b - 1 for b > 17 rounds up to 2^b.
  for (let b = 17n; b < 270n; b++) {
    const a = (1n << b) - 1n;
    const c = encodeAttoseconds(a);
    assert.ok(c.delta <= 0xffff, `delta fits, b=${b}`);
    assert.equal(c, { delta: 0x8000, scale: Number(b) - 15 }, `b=${b}`);
  }
  // Just below the carry: (0xFFFF.5 - ε) × 2^s rounds to 0xFFFF.
  assert.equal(encodeAttoseconds((0xffffn << 4n) + 7n), { delta: 0xffff, scale: 4 });
  assert.equal(encodeAttoseconds((0xffffn << 4n) + 8n), { delta: 0x8000, scale: 5 });
});

test('saturation at (0xFFFF, 255)', () => {
  assert.equal(encodeAttoseconds(MAX), { delta: 0xffff, scale: 255 }, 'largest encodable value is exact');
  assert.is(decodeAttoseconds(encodeAttoseconds(MAX)), MAX);
  assert.equal(encodeAttoseconds(MAX + (1n << 254n) - 1n), { delta: 0xffff, scale: 255 }, 'rounds down to the maximum');
  assert.equal(encodeAttoseconds(MAX + (1n << 254n)), { delta: 0xffff, scale: 255 }, 'rounds up past the maximum: saturates');
  assert.equal(encodeAttoseconds(MAX << 3n), { delta: 0xffff, scale: 255 });
  assert.equal(encodeAttoseconds(1n << 1000n), { delta: 0xffff, scale: 255 });
  // Largest value of scale 254 and the step into 255.
  assert.equal(encodeAttoseconds(0xffffn << 254n), { delta: 0xffff, scale: 254 });
  assert.equal(encodeAttoseconds(1n << 270n), { delta: 0x8000, scale: 255 });
  // u64 max nanoseconds is far below saturation.
  const big = encodeNanoseconds(0xffffffffffffffffn);
  assert.ok(big.scale < 255);
});

test('negative durations encode as (0, 0)', () => {
  for (const a of [-1n, -65535n, -(10n ** 30n)]) assert.equal(encodeAttoseconds(a), { delta: 0, scale: 0 });
  for (const n of [-1, -0.5, -1e15, -0]) assert.equal(encodeNanoseconds(n), { delta: 0, scale: 0 }, `${n}`);
  assert.equal(encodeNanoseconds(-1n), { delta: 0, scale: 0 });
  assert.equal(encodeNanoseconds(-(2n ** 70n)), { delta: 0, scale: 0 });
});

test('matches the independent reference for random values of 0..272 bits', () => {
  for (let i = 0; i < 5000; i++) {
    const a = randomBig(272);
    assert.equal(encodeAttoseconds(a), reference(a), `A = ${a}`);
  }
});

test('monotonic: a < b ⇒ decode(encode(a)) ≤ decode(encode(b))', () => {
  for (let i = 0; i < 5000; i++) {
    let a = randomBig(i % 2 === 0 ? 80 : 272);
    // Half the pairs are close together, where rounding matters.
    let b = i % 3 === 0 ? a + BigInt(randomInt(1, 1 << 20)) : randomBig(i % 2 === 0 ? 80 : 272);
    if (a === b) continue;
    if (a > b) [a, b] = [b, a];
    const da = decodeAttoseconds(encodeAttoseconds(a));
    const db = decodeAttoseconds(encodeAttoseconds(b));
    assert.ok(da <= db, `a=${a} → ${da}, b=${b} → ${db}`);
  }
  // Dense walk across the carry points of small scales.
  let prev = -1n;
  for (let a = 0n; a < 1n << 19n; a += 1n) {
    const d = decodeAttoseconds(encodeAttoseconds(a));
    if (d < prev) assert.unreachable(`not monotonic at ${a}`);
    prev = d;
  }
});

test('error bound: |decoded − exact| ≤ 2^(scale−1), relative ≤ 2^−16, delta ≥ 2^15 when scaled', () => {
  for (let i = 0; i < 5000; i++) {
    const a = randomBig(270);
    if (a > MAX) continue;
    const e = encodeAttoseconds(a);
    const err = abs(decodeAttoseconds(e) - a);
    assert.is(encodingErrorBound(e), e.scale === 0 ? 0n : 1n << BigInt(e.scale - 1));
    assert.ok(err <= encodingErrorBound(e), `A=${a}: error ${err} above 2^(${e.scale}-1)`);
    assert.ok(err * 65536n <= a, `A=${a}: relative error above 2^-16`);
    if (e.scale > 0) assert.ok(e.delta >= 0x8000, `A=${a}: delta ${e.delta} below 2^15 with scale ${e.scale}`);
    if (e.scale === 0) assert.is(err, 0n);
  }
});

test('encodeNanoseconds: number and bigint agree, and equal encodeAttoseconds(ns × 10^9)', () => {
  const samples = [0, 1, 2, 999, 1000, 65535, 123_456_789, 1_000_000_000, 3_600_000_000_000, 86_400_000_000_000, Number.MAX_SAFE_INTEGER];
  for (let i = 0; i < 2000; i++) samples.push(randomInt(2 ** 48 - 1) * (i % 2 === 0 ? 1 : randomInt(1, 32)));
  for (const n of samples) {
    const fromNumber = encodeNanoseconds(n);
    const fromBig = encodeNanoseconds(BigInt(n));
    assert.equal(fromNumber, fromBig, `${n}`);
    assert.equal(fromBig, encodeAttoseconds(BigInt(n) * NS), `${n}`);
  }
});

test('decodeNanoseconds returns the decoded value in nanoseconds', () => {
  assert.is(decodeNanoseconds({ delta: 61035, scale: 14 }), 0.99999744);
  assert.is(decodeNanoseconds({ delta: 0, scale: 0 }), 0);
  const e = encodeNanoseconds(123_456_789);
  const exact = Number(decodeAttoseconds(e)) / 1e9;
  assert.ok(Math.abs(decodeNanoseconds(e) - exact) <= exact * 1e-12);
  assert.ok(Math.abs(decodeNanoseconds(e) - 123_456_789) <= 123_456_789 * 2 ** -16);
});

test('decode rejects out-of-range fields with RangeError', () => {
  const bad: EncodedDelta[] = [
    { delta: -1, scale: 0 },
    { delta: 0x10000, scale: 0 },
    { delta: 1.5, scale: 0 },
    { delta: Number.NaN, scale: 0 },
    { delta: Number.POSITIVE_INFINITY, scale: 0 },
    { delta: 1, scale: -1 },
    { delta: 1, scale: 256 },
    { delta: 1, scale: 0.5 },
    { delta: 1, scale: Number.NaN },
  ];
  for (const e of bad) {
    assert.throws(() => decodeAttoseconds(e), (err: unknown) => err instanceof RangeError, JSON.stringify(e));
    assert.throws(() => decodeNanoseconds(e), (err: unknown) => err instanceof RangeError, JSON.stringify(e));
  }
  // The extremes are accepted.
  assert.is(decodeAttoseconds({ delta: 0xffff, scale: 255 }), MAX);
  assert.is(decodeAttoseconds({ delta: 0, scale: 255 }), 0n);
});

test('every delta/scale pair with delta ≥ 2^15 (or scale 0) round-trips exactly', () => {
  for (let i = 0; i < 3000; i++) {
    const scale = randomInt(256);
    const delta = scale === 0 ? randomInt(0x10000) : randomInt(0x8000, 0x10000);
    const a = decodeAttoseconds({ delta, scale });
    assert.equal(encodeAttoseconds(a), { delta, scale });
  }
});

const UNIT_AS: Record<string, bigint> = { as: 1n, ns: NS, 'µs': 1000n * NS, ms: 1_000_000n * NS, s: 10n ** 18n, h: 3600n * 10n ** 18n };

/** The duration column: '0', '65535 as', '1 µs', '2^64 − 1 ns', 'above 0xFFFF × 2^255 as' (→ null). */
function parseDuration(text: string): bigint | null {
  if (text.startsWith('above ')) return null;
  if (text === '0') return 0n;
  const m = /^(\d+|2\^(\d+) − 1) (as|ns|µs|ms|s|h)\b/.exec(text);
  if (!m) throw new Error(`cannot read duration '${text}'`);
  const n = m[2] !== undefined ? (1n << BigInt(m[2])) - 1n : BigInt(m[1]!);
  return n * UNIT_AS[m[3]!]!;
}

/** '−7.37 × 10^12' or '+5 959 680' or '0': value, and whether it is rounded (mantissa digits). */
function parseNumber(text: string): { value: number; exact: bigint | null; ulp: number } {
  const t = text.replace(/−/g, '-').replace(/\s+/g, ' ').trim();
  const pow10 = /^10\^(\d+)$/.exec(t);
  if (pow10) {
    const v = 10n ** BigInt(pow10[1]!);
    return { value: Number(v), exact: v, ulp: 0 };
  }
  const sci = /^([+-]?)(\d+)(?:\.(\d+))? × 10\^(\d+)$/.exec(t);
  if (sci) {
    const frac = sci[3] ?? '';
    const exp = Number(sci[4]);
    const value = Number(`${sci[1]}${sci[2]}.${frac || '0'}e${exp}`);
    return { value, exact: null, ulp: 10 ** (exp - frac.length) };
  }
  const hexPow = /^0x([0-9A-Fa-f]+) × 2\^(\d+)$/.exec(t);
  if (hexPow) {
    const v = BigInt(`0x${hexPow[1]}`) << BigInt(hexPow[2]!);
    return { value: Number(v), exact: v, ulp: 0 };
  }
  const int = /^([+-]?)([\d ]+)$/.exec(t);
  if (int) {
    const v = BigInt(int[2]!.replace(/ /g, '')) * (int[1] === '-' ? -1n : 1n);
    return { value: Number(v), exact: v, ulp: 0 };
  }
  throw new Error(`cannot read number '${text}' from PROTOCOL.md`);
}

function close(doc: { value: number; exact: bigint | null; ulp: number }, actual: bigint): boolean {
  if (doc.exact !== null) return doc.exact === actual;
  return Math.abs(Number(actual) - doc.value) <= doc.ulp / 2 + Math.abs(doc.value) * 1e-12;
}

/** Differences between the §3 example table of `doc` and the encoder. */
function timeTableProblems(doc: string): string[] {
  const section = doc.slice(doc.indexOf('## 3. Time encoding'), doc.indexOf('## 4.'));
  const rows = section.split('\n').filter((l) => /^\| (?!duration|---)/.test(l));
  if (rows.length < 7) return [`time table not found (${rows.length} rows)`];
  const problems: string[] = [];
  for (const row of rows) {
    const [name, aText, deltaText, scaleText, decodedText, errText] = row
      .split('|')
      .slice(1, -1)
      .map((c) => c.trim()) as [string, string, string, string, string, string];
    const fromName = parseDuration(name);
    const a = fromName ?? MAX << 1n;
    if (fromName !== null && !close(parseNumber(aText), a)) problems.push(`${name}: A ${aText}, duration gives ${a}`);
    const e = encodeAttoseconds(a);
    const dec = decodeAttoseconds(e);
    if (Number(deltaText) !== e.delta) problems.push(`${name}: DELTA ${deltaText}, encoder gives ${e.delta}`);
    if (Number(scaleText) !== e.scale) problems.push(`${name}: SCALE ${scaleText}, encoder gives ${e.scale}`);
    if (decodedText !== 'see vectors' && !close(parseNumber(decodedText), dec)) problems.push(`${name}: decoded ${decodedText}, encoder gives ${dec}`);
    if (errText === 'saturated') {
      if (e.delta !== 0xffff || e.scale !== 255) problems.push(`${name}: not saturated`);
      continue;
    }
    const diff = dec - a;
    const ppm = /\(?([+−-]?[\d.]+) ppm\)?/.exec(errText);
    if (ppm) {
      const docPpm = Number(ppm[1]!.replace('−', '-'));
      const realPpm = (Number(diff) / Number(a)) * 1e6;
      const decimals = (ppm[1]!.split('.')[1] ?? '').length;
      if (Math.abs(docPpm - realPpm) > 0.5 * 10 ** -decimals + 1e-9) problems.push(`${name}: ${docPpm} ppm, encoder gives ${realPpm.toFixed(3)} ppm`);
    }
    const lead = errText.replace(/\(.*\)/, '').replace(/^[+−-]?[\d.]+ ppm$/, '').trim();
    if (lead !== '' && !close(parseNumber(lead), diff)) problems.push(`${name}: decoded − A ${errText}, encoder gives ${diff}`);
  }
  return problems;
}

test('the example table of PROTOCOL.md §3 agrees with the encoder', () => {
  const doc = readFileSync(join(repoRoot(), 'docs', 'PROTOCOL.md'), 'utf8');
  assert.equal(timeTableProblems(doc), []);
});

test('the §3 table check can fail (corrupted copies of the table)', () => {
  const doc = readFileSync(join(repoRoot(), 'docs', 'PROTOCOL.md'), 'utf8');
  const corruptions: Array<[string, string]> = [
    ['| 56843 |', '| 55511 |'],
    ['| 999 997 440 |', '| 999 997 441 |'],
    ['(+6.0 ppm)', '(+7.0 ppm)'],
    ['| 14 |', '| 15 |'],
  ];
  let applied = 0;
  for (const [from, to] of corruptions) {
    if (!doc.includes(from)) continue;
    applied++;
    assert.ok(timeTableProblems(doc.replace(from, to)).length > 0, `'${from}' → '${to}' is detected`);
  }
  assert.ok(applied >= 2, 'at least two corruptions applied');
});

test.run();
