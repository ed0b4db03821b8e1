/// <reference types="node" />
// Codec of the PDM destination option (docs/PROTOCOL.md §1): round trips,
// byte positions as in the tables, every decoding error from hand-built
// inputs, the lenient reserved-bits mode, a garbage fuzz and encoder range checks.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomInt } from 'node:crypto';
import { randomClearFields } from './random-fields.js';
import { fromHex, toHex } from '../core/src/util/bytes.js';
import {
  decodeMetricsBlock,
  decodeOption,
  encodeClear,
  encodeDraftClear,
  encodeEncrypted,
  encodeMetricsBlock,
  encodeV1,
  encryptedHeader,
  versionEpochWord,
  ENCRYPTED_CLEAR_PART,
  METRICS_BLOCK_LEN,
  OPT_LEN_CLEAR,
  OPT_LEN_DRAFT_CLEAR,
  OPT_LEN_ENCRYPTED,
  OPT_LEN_V1,
  PDM_OPTION_TYPE,
  PDMV2_VERSION,
  TAG_LEN,
  type DecodeResult,
  type OptionError,
  type PdmOption,
  type Pdmv2Clear,
  type Pdmv2DraftClear,
  type PdmV1,
} from '../core/src/wire/options.js';

/** The codes of PROTOCOL.md §1.6, and nothing else. */
const DOCUMENTED_CODES: readonly OptionError[] = ['TRUNCATED', 'TRAILING_DATA', 'NOT_PDM', 'BAD_LENGTH', 'BAD_VERSION', 'RESERVED_NONZERO'];

type ClearFields = Omit<Pdmv2Clear, 'format'>;
type V1Fields = Omit<PdmV1, 'format'>;
type DraftFields = Omit<Pdmv2DraftClear, 'format'>;

/** Distinctive values: every field has different octets, so a swapped offset shows. */
const CLEAR: ClearFields = {
  epoch: 0xabc,
  psntp: 0x11223344,
  psnlr: 0x55667788,
  globalPointer: 0x99aabbcc,
  scaleDtlr: 0xdd,
  scaleDtls: 0xee,
  deltaTlr: 0x1357,
  deltaTls: 0x2468,
};
const V1: V1Fields = { scaleDtlr: 0xa1, scaleDtls: 0xb2, psntp: 0xc3d4, psnlr: 0xe5f6, deltaTlr: 0x0718, deltaTls: 0x293a };
const DRAFT: DraftFields = {
  random: 0x5a5b,
  flag: 1,
  scaleDtlr: 0x3c,
  scaleDtls: 0x4d,
  globalPointer: 0x8e9fa0b1,
  psntp: 0xc2d3,
  psnlr: 0xe4f5,
  deltaTlr: 0x0617,
  deltaTls: 0x2839,
};

function expectOk(r: DecodeResult<PdmOption>): PdmOption {
  if (!r.ok) throw new Error(`expected a decoded option, got ${r.error}`);
  return r.value;
}

function expectError(r: DecodeResult<unknown>, code: OptionError, what = ''): void {
  assert.is(r.ok, false, `${what}: expected ${code}, decoded instead`);
  if (!r.ok) assert.is(r.error, code, what);
}


// ---------------------------------------------------------------- round trips

test('clear form: encode then decode returns the same fields (fixed and random)', () => {
  for (const f of [CLEAR, { ...CLEAR, epoch: 0, psntp: 0, psnlr: 0, globalPointer: 0, scaleDtlr: 0, scaleDtls: 0, deltaTlr: 0, deltaTls: 0 }]) {
    const bytes = encodeClear(f);
    assert.is(bytes.length, 24);
    assert.equal(expectOk(decodeOption(bytes)), { format: 'pdmv2-clear', ...f });
  }
  for (let i = 0; i < 500; i++) {
    const f = randomClearFields();
    const bytes = encodeClear(f);
    const d = expectOk(decodeOption(bytes));
    assert.equal(d, { format: 'pdmv2-clear', ...f });
    assert.equal(encodeClear(d as Pdmv2Clear), bytes, 're-encoding gives the same octets');
  }
});

test('clear form: all fields at maximum', () => {
  const max: ClearFields = {
    epoch: 0xfff,
    psntp: 0xffffffff,
    psnlr: 0xffffffff,
    globalPointer: 0xffffffff,
    scaleDtlr: 255,
    scaleDtls: 255,
    deltaTlr: 0xffff,
    deltaTls: 0xffff,
  };
  const bytes = encodeClear(max);
  assert.is(toHex(bytes), '0f162fffffffffffffffffffffffffffffff0000ffffffff');
  assert.equal(expectOk(decodeOption(bytes)), { format: 'pdmv2-clear', ...max });
});

test('v1 form: encode then decode returns the same fields', () => {
  const bytes = encodeV1(V1);
  assert.is(bytes.length, 12);
  assert.equal(expectOk(decodeOption(bytes)), { format: 'pdm-v1', ...V1 });
  for (let i = 0; i < 300; i++) {
    const f: V1Fields = {
      scaleDtlr: randomInt(256),
      scaleDtls: randomInt(256),
      psntp: randomInt(0x10000),
      psnlr: randomInt(0x10000),
      deltaTlr: randomInt(0x10000),
      deltaTls: randomInt(0x10000),
    };
    const b = encodeV1(f);
    const d = expectOk(decodeOption(b));
    assert.equal(d, { format: 'pdm-v1', ...f });
    assert.equal(encodeV1(d as PdmV1), b);
  }
});

test('older draft clear form: encode then decode returns the same fields', () => {
  const bytes = encodeDraftClear(DRAFT);
  assert.is(bytes.length, 20);
  assert.equal(expectOk(decodeOption(bytes)), { format: 'pdmv2-draft-clear', ...DRAFT });
  for (let i = 0; i < 300; i++) {
    const f: DraftFields = {
      random: randomInt(0x8000),
      flag: randomInt(2),
      scaleDtlr: randomInt(256),
      scaleDtls: randomInt(256),
      globalPointer: randomInt(2 ** 32),
      psntp: randomInt(0x10000),
      psnlr: randomInt(0x10000),
      deltaTlr: randomInt(0x10000),
      deltaTls: randomInt(0x10000),
    };
    const b = encodeDraftClear(f);
    const d = expectOk(decodeOption(b));
    assert.equal(d, { format: 'pdmv2-draft-clear', ...f });
    assert.equal(encodeDraftClear(d as Pdmv2DraftClear), b);
  }
});

test('encrypted form: encode then decode returns epoch, PSNTP, ciphertext and tag', () => {
  for (let i = 0; i < 200; i++) {
    const epoch = randomInt(0x1000);
    const psntp = randomInt(2 ** 32);
    const ct = new Uint8Array(randomBytes(16));
    const tag = new Uint8Array(randomBytes(12));
    const b = encodeEncrypted(epoch, psntp, ct, tag);
    assert.is(b.length, 36);
    const d = expectOk(decodeOption(b));
    assert.is(d.format, 'pdmv2-encrypted');
    if (d.format !== 'pdmv2-encrypted') return;
    assert.is(d.epoch, epoch);
    assert.is(d.psntp, psntp);
    assert.equal(d.ciphertext, ct);
    assert.equal(d.tag, tag);
    assert.equal(encodeEncrypted(d.epoch, d.psntp, d.ciphertext, d.tag), b);
  }
});

test('encrypted form: decoded ciphertext and tag are copies, not views of the input', () => {
  const b = encodeEncrypted(1, 2, new Uint8Array(16).fill(0x33), new Uint8Array(12).fill(0x44));
  const d = expectOk(decodeOption(b));
  if (d.format !== 'pdmv2-encrypted') throw new Error('format');
  b.fill(0);
  assert.ok(d.ciphertext.every((x) => x === 0x33));
  assert.ok(d.tag.every((x) => x === 0x44));
});

test('metrics block: encode then decode returns the same fields', () => {
  for (let i = 0; i < 200; i++) {
    const { epoch: _e, psntp: _p, ...m } = randomClearFields();
    const b = encodeMetricsBlock(m);
    assert.is(b.length, METRICS_BLOCK_LEN);
    const d = decodeMetricsBlock(b);
    assert.ok(d.ok);
    if (d.ok) assert.equal(d.value, m);
  }
});

test('metrics block equals octets 8..23 of the clear form (PROTOCOL.md §1.3)', () => {
  const clear = encodeClear(CLEAR);
  assert.equal(encodeMetricsBlock(CLEAR), clear.slice(8, 24));
});

// ---------------------------------------------------------------- byte positions

test('clear form: octet positions as in PROTOCOL.md §1.1', () => {
  const b = encodeClear(CLEAR);
  assert.is(toHex(b), '0f16' + '2abc' + '11223344' + '55667788' + '99aabbcc' + 'dd' + 'ee' + '0000' + '1357' + '2468');
  assert.is(b[0], 0x0f, 'option type');
  assert.is(b[1], 0x16, 'opt data len 22');
  assert.is(b[2]! >> 4, 2, 'version nibble');
  assert.is(((b[2]! & 0x0f) << 8) | b[3]!, 0xabc, 'epoch');
  assert.equal(Array.from(b.subarray(4, 8)), [0x11, 0x22, 0x33, 0x44], 'PSNTP at 4');
  assert.equal(Array.from(b.subarray(8, 12)), [0x55, 0x66, 0x77, 0x88], 'PSNLR at 8');
  assert.equal(Array.from(b.subarray(12, 16)), [0x99, 0xaa, 0xbb, 0xcc], 'Global Pointer at 12');
  assert.is(b[16], 0xdd, 'ScaleDTLR at 16');
  assert.is(b[17], 0xee, 'ScaleDTLS at 17');
  assert.equal(Array.from(b.subarray(18, 20)), [0, 0], 'Reserved at 18');
  assert.equal(Array.from(b.subarray(20, 22)), [0x13, 0x57], 'DeltaTLR at 20');
  assert.equal(Array.from(b.subarray(22, 24)), [0x24, 0x68], 'DeltaTLS at 22');
});

test('clear form: decoding reads each field from its documented offset', () => {
  const b = new Uint8Array(24);
  b[0] = 0x0f;
  b[1] = 22;
  b[2] = 0x27;
  b[3] = 0x65;
  b.set([0xde, 0xad, 0xbe, 0xef], 4);
  b.set([0xca, 0xfe, 0xba, 0xbe], 8);
  b.set([0x01, 0x02, 0x03, 0x04], 12);
  b[16] = 0x2a;
  b[17] = 0x2b;
  b.set([0xf0, 0x0d], 20);
  b.set([0xbe, 0xef], 22);
  assert.equal(expectOk(decodeOption(b)), {
    format: 'pdmv2-clear',
    epoch: 0x765,
    psntp: 0xdeadbeef,
    psnlr: 0xcafebabe,
    globalPointer: 0x01020304,
    scaleDtlr: 0x2a,
    scaleDtls: 0x2b,
    deltaTlr: 0xf00d,
    deltaTls: 0xbeef,
  });
});

test('encrypted form: octet positions as in PROTOCOL.md §1.2', () => {
  const ct = Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i);
  const tag = Uint8Array.from({ length: 12 }, (_, i) => 0xc0 + i);
  const b = encodeEncrypted(0x123, 0x89abcdef, ct, tag);
  assert.is(b[0], 0x0f);
  assert.is(b[1], 0x22);
  assert.is(b[2], 0x21);
  assert.is(b[3], 0x23);
  assert.equal(Array.from(b.subarray(4, 8)), [0x89, 0xab, 0xcd, 0xef]);
  assert.equal(b.slice(8, 24), ct, 'ciphertext at 8..23');
  assert.equal(b.slice(24, 36), tag, 'tag at 24..35');
  assert.equal(encryptedHeader(0x123, 0x89abcdef), b.slice(0, ENCRYPTED_CLEAR_PART));
  assert.is(ENCRYPTED_CLEAR_PART, 8);
  assert.is(TAG_LEN, 12);
});

test('v1 form: octet positions as in PROTOCOL.md §1.4', () => {
  const b = encodeV1(V1);
  assert.is(toHex(b), '0f0a' + 'a1' + 'b2' + 'c3d4' + 'e5f6' + '0718' + '293a');
  assert.is(b[2], 0xa1, 'ScaleDTLR at 2');
  assert.is(b[3], 0xb2, 'ScaleDTLS at 3');
  assert.equal(Array.from(b.subarray(4, 6)), [0xc3, 0xd4], 'PSNTP at 4');
  assert.equal(Array.from(b.subarray(6, 8)), [0xe5, 0xf6], 'PSNLR at 6');
  assert.equal(Array.from(b.subarray(8, 10)), [0x07, 0x18], 'DeltaTLR at 8');
  assert.equal(Array.from(b.subarray(10, 12)), [0x29, 0x3a], 'DeltaTLS at 10');
});

test('older draft form: octet positions as in PROTOCOL.md §1.5', () => {
  const b = encodeDraftClear(DRAFT);
  // random 0x5a5b << 1 | 1 = 0xb4b7
  assert.is(toHex(b), '0f12' + '2000' + 'b4b7' + '3c' + '4d' + '8e9fa0b1' + 'c2d3' + 'e4f5' + '0617' + '2839');
  assert.is(b[6], 0x3c, 'ScaleDTLR at 6');
  assert.is(b[7], 0x4d, 'ScaleDTLS at 7');
  assert.equal(Array.from(b.subarray(8, 12)), [0x8e, 0x9f, 0xa0, 0xb1], 'Global Pointer at 8');
  assert.equal(Array.from(b.subarray(12, 14)), [0xc2, 0xd3], 'PSNTP at 12');
  assert.equal(Array.from(b.subarray(14, 16)), [0xe4, 0xf5], 'PSNLR at 14');
  assert.equal(Array.from(b.subarray(16, 18)), [0x06, 0x17], 'DeltaTLR at 16');
  assert.equal(Array.from(b.subarray(18, 20)), [0x28, 0x39], 'DeltaTLS at 18');
  // Random is the high 15 bits, the flag the low bit.
  const d = expectOk(decodeOption(fromHex('0f12' + '2000' + 'fffe' + '00'.repeat(14))));
  assert.equal([(d as Pdmv2DraftClear).random, (d as Pdmv2DraftClear).flag], [0x7fff, 0]);
  const d2 = expectOk(decodeOption(fromHex('0f12' + '2000' + '0001' + '00'.repeat(14))));
  assert.equal([(d2 as Pdmv2DraftClear).random, (d2 as Pdmv2DraftClear).flag], [0, 1]);
});

test('metrics block: octet positions as in PROTOCOL.md §1.3', () => {
  const b = encodeMetricsBlock(CLEAR);
  assert.is(toHex(b), '55667788' + '99aabbcc' + 'dd' + 'ee' + '0000' + '1357' + '2468');
});

test('constants match the table of PROTOCOL.md §1', () => {
  assert.is(PDM_OPTION_TYPE, 0x0f);
  assert.is(PDMV2_VERSION, 2);
  assert.is(OPT_LEN_V1, 10);
  assert.is(OPT_LEN_DRAFT_CLEAR, 18);
  assert.is(OPT_LEN_CLEAR, 22);
  assert.is(OPT_LEN_ENCRYPTED, 34);
  assert.is(versionEpochWord(0), 0x2000);
  assert.is(versionEpochWord(0xfff), 0x2fff);
});

// ---------------------------------------------------------------- errors

test('TRUNCATED: fewer than 2 octets, or fewer than 2 + Opt Data Len', () => {
  expectError(decodeOption(new Uint8Array(0)), 'TRUNCATED', 'empty');
  expectError(decodeOption(Uint8Array.of(0x0f)), 'TRUNCATED', 'type only');
  expectError(decodeOption(Uint8Array.of(0x00)), 'TRUNCATED', 'one octet that is not 0x0f');
  for (const full of [encodeClear(CLEAR), encodeV1(V1), encodeDraftClear(DRAFT), encodeEncrypted(1, 2, new Uint8Array(16), new Uint8Array(12))]) {
    for (let n = 2; n < full.length; n++) expectError(decodeOption(full.slice(0, n)), 'TRUNCATED', `length ${full[1]} cut to ${n}`);
  }
  // A bare header announcing a valid length.
  for (const len of [10, 18, 22, 34]) expectError(decodeOption(Uint8Array.of(0x0f, len)), 'TRUNCATED', `0f ${len}`);
});

test('TRAILING_DATA: more octets than 2 + Opt Data Len', () => {
  for (const full of [encodeClear(CLEAR), encodeV1(V1), encodeDraftClear(DRAFT), encodeEncrypted(1, 2, new Uint8Array(16), new Uint8Array(12))]) {
    for (const extra of [1, 2, 7, 100]) {
      const b = new Uint8Array(full.length + extra);
      b.set(full);
      expectError(decodeOption(b), 'TRAILING_DATA', `length ${full[1]} + ${extra}`);
    }
  }
});

test('NOT_PDM: option type is not 0x0f', () => {
  const clear = encodeClear(CLEAR);
  for (const type of [0x00, 0x01, 0x0e, 0x10, 0x1e, 0x4f, 0x8f, 0xcf, 0xff]) {
    const b = clear.slice();
    b[0] = type;
    expectError(decodeOption(b), 'NOT_PDM', `type ${type}`);
  }
  expectError(decodeOption(Uint8Array.of(0x01, 0x00)), 'NOT_PDM', 'PadN(0)');
});

test('BAD_LENGTH: Opt Data Len is not 10, 18, 22 or 34', () => {
  for (let len = 0; len < 256; len++) {
    if (len === 10 || len === 18 || len === 22 || len === 34) continue;
    const b = new Uint8Array(2 + len);
    b[0] = 0x0f;
    b[1] = len;
    if (len >= 2) b[2] = 0x20;
    expectError(decodeOption(b), 'BAD_LENGTH', `len ${len}`);
  }
  // Also with the wrong number of octets following.
  expectError(decodeOption(Uint8Array.of(0x0f, 0x14)), 'BAD_LENGTH', 'length 20, nothing follows');
});

test('BAD_VERSION: version nibble is not 2 for lengths 18, 22, 34; v1 has no version', () => {
  const forms = [encodeClear(CLEAR), encodeDraftClear(DRAFT), encodeEncrypted(0x0ab, 7, new Uint8Array(16), new Uint8Array(12))];
  for (const full of forms) {
    for (let v = 0; v < 16; v++) {
      const b = full.slice();
      b[2] = (v << 4) | (b[2]! & 0x0f);
      if (v === 2) assert.ok(decodeOption(b).ok);
      else expectError(decodeOption(b), 'BAD_VERSION', `len ${full[1]} version ${v}`);
    }
  }
  // Octet 2 of v1 is ScaleDTLR: any value decodes.
  for (const s of [0x00, 0x10, 0x30, 0xff]) {
    const b = encodeV1(V1);
    b[2] = s;
    assert.ok(decodeOption(b).ok, `v1 scale ${s}`);
  }
});

test('RESERVED_NONZERO: clear form reserved octets 18..19 (strict), every bit', () => {
  for (let bit = 0; bit < 16; bit++) {
    const b = encodeClear(CLEAR);
    b[18 + (bit >> 3)] = b[18 + (bit >> 3)]! ^ (0x80 >> (bit & 7));
    expectError(decodeOption(b), 'RESERVED_NONZERO', `bit ${bit}`);
    expectError(decodeOption(b, { allowReserved: false }), 'RESERVED_NONZERO', `bit ${bit}, explicit strict`);
  }
});

test('RESERVED_NONZERO: older draft form reserved 12 bits of octets 2..3 (strict), every bit', () => {
  for (let bit = 4; bit < 16; bit++) {
    const b = encodeDraftClear(DRAFT);
    b[2 + (bit >> 3)] = b[2 + (bit >> 3)]! ^ (0x80 >> (bit & 7));
    expectError(decodeOption(b), 'RESERVED_NONZERO', `bit ${bit}`);
  }
});

test('RESERVED_NONZERO: metrics block octets 10..11', () => {
  const b = encodeMetricsBlock(CLEAR);
  b[10] = 0x80;
  expectError(decodeMetricsBlock(b), 'RESERVED_NONZERO');
  const ok = decodeMetricsBlock(b, { allowReserved: true });
  assert.ok(ok.ok);
  expectError(decodeMetricsBlock(b.subarray(0, 15)), 'TRUNCATED');
  expectError(decodeMetricsBlock(new Uint8Array(17)), 'TRAILING_DATA');
});

test('error precedence is the order of the checks (TRUNCATED < NOT_PDM < BAD_LENGTH < size < BAD_VERSION < RESERVED)', () => {
  expectError(decodeOption(Uint8Array.of(0x1e)), 'TRUNCATED', 'one octet');
  expectError(decodeOption(Uint8Array.of(0x1e, 22)), 'NOT_PDM', 'not PDM wins over a short body');
  expectError(decodeOption(Uint8Array.of(0x0f, 21)), 'BAD_LENGTH', 'bad length wins over a short body');
  // A wrong version in a truncated option: the size is checked first.
  expectError(decodeOption(fromHex('0f16' + '1000')), 'TRUNCATED');
  // Wrong version and reserved bits set: version first.
  const b = encodeClear(CLEAR);
  b[2] = 0x10;
  b[19] = 1;
  expectError(decodeOption(b), 'BAD_VERSION');
  expectError(decodeOption(b, { allowReserved: true }), 'BAD_VERSION', 'lenient mode does not accept a wrong version');
});

test('the encrypted form has no reserved field: any epoch decodes in strict mode', () => {
  for (const epoch of [0, 1, 0x800, 0xfff]) {
    const b = encodeEncrypted(epoch, 0, new Uint8Array(16).fill(0xff), new Uint8Array(12).fill(0xff));
    const d = expectOk(decodeOption(b));
    assert.is((d as { epoch: number }).epoch, epoch);
  }
});

// ---------------------------------------------------------------- lenient mode

test('allowReserved: clear form with reserved bits decodes with the other fields intact', () => {
  const b = encodeClear(CLEAR);
  b[18] = 0xff;
  b[19] = 0xff;
  const d = expectOk(decodeOption(b, { allowReserved: true }));
  assert.equal(d, { format: 'pdmv2-clear', ...CLEAR });
});

test('allowReserved: older draft form with reserved bits decodes', () => {
  const b = encodeDraftClear(DRAFT);
  b[2] = 0x2f;
  b[3] = 0xff;
  const d = expectOk(decodeOption(b, { allowReserved: true }));
  assert.equal(d, { format: 'pdmv2-draft-clear', ...DRAFT });
});

test('allowReserved changes nothing else: other errors stay', () => {
  const lenient = { allowReserved: true };
  expectError(decodeOption(new Uint8Array(0), lenient), 'TRUNCATED');
  expectError(decodeOption(Uint8Array.of(0x0e, 22), lenient), 'NOT_PDM');
  expectError(decodeOption(Uint8Array.of(0x0f, 23), lenient), 'BAD_LENGTH');
  const long = new Uint8Array(25);
  long.set(encodeClear(CLEAR));
  expectError(decodeOption(long, lenient), 'TRAILING_DATA');
  for (const v of [0, 1, 3, 15]) {
    const b = encodeDraftClear(DRAFT);
    b[2] = v << 4;
    expectError(decodeOption(b, lenient), 'BAD_VERSION');
  }
  // Valid options decode identically in both modes.
  for (const b of [encodeClear(CLEAR), encodeV1(V1), encodeDraftClear(DRAFT)]) {
    assert.equal(decodeOption(b, lenient), decodeOption(b));
  }
});

// ---------------------------------------------------------------- fuzz

test('decoding never throws on 5000 random buffers of 0..64 octets; only documented codes', () => {
  const seen = new Set<string>();
  for (let i = 0; i < 5000; i++) {
    const len = randomInt(65);
    const b = new Uint8Array(randomBytes(len));
    // Half of the inputs look like a PDM option, so the deeper checks are reached.
    if (i % 2 === 0 && len >= 2) {
      b[0] = 0x0f;
      if (i % 4 === 0) b[1] = [10, 18, 22, 34][randomInt(4)]!;
      if (i % 8 === 0) b[2] = (2 << 4) | (b[2]! & 0x0f);
    }
    if (i % 16 === 0 && len >= 2 && b[1]! + 2 <= 64) {
      // Exact length.
      const exact = new Uint8Array(b[1]! + 2);
      exact.set(b.subarray(0, Math.min(len, exact.length)));
      checkOne(exact);
    }
    checkOne(b);
  }
  function checkOne(b: Uint8Array): void {
    const copy = b.slice();
    for (const opts of [{}, { allowReserved: true }]) {
      let r: DecodeResult<PdmOption>;
      try {
        r = decodeOption(b, opts);
      } catch (err) {
        throw new Error(`decodeOption threw for ${toHex(b)}: ${String(err)}`);
      }
      if (r.ok) {
        seen.add(r.value.format);
        assert.is(b.length, 2 + b[1]!, 'a decoded option uses exactly all octets');
        assert.is(b[0], 0x0f);
      } else {
        seen.add(r.error);
        assert.ok(DOCUMENTED_CODES.includes(r.error), `undocumented code ${r.error}`);
      }
    }
    assert.equal(b, copy, 'input not modified');
  }
  for (const expected of ['TRUNCATED', 'TRAILING_DATA', 'NOT_PDM', 'BAD_LENGTH', 'BAD_VERSION']) {
    assert.ok(seen.has(expected), `the fuzz reached ${expected}`);
  }
});

test('decodeMetricsBlock never throws on random buffers of 0..64 octets', () => {
  for (let i = 0; i < 2000; i++) {
    const b = new Uint8Array(randomBytes(randomInt(65)));
    const r = decodeMetricsBlock(b);
    if (!r.ok) assert.ok(DOCUMENTED_CODES.includes(r.error));
    else assert.is(b.length, 16);
  }
});

// ---------------------------------------------------------------- encoder range checks

const BAD_U32 = [-1, 0.5, 2 ** 32, 2 ** 53, Number.NaN, Number.POSITIVE_INFINITY, -0.1];

test('encodeClear throws RangeError for out-of-range fields', () => {
  const limits: Array<[keyof ClearFields, number]> = [
    ['epoch', 0x1000],
    ['psntp', 2 ** 32],
    ['psnlr', 2 ** 32],
    ['globalPointer', 2 ** 32],
    ['scaleDtlr', 256],
    ['scaleDtls', 256],
    ['deltaTlr', 0x10000],
    ['deltaTls', 0x10000],
  ];
  for (const [field, tooLarge] of limits) {
    for (const bad of [-1, 1.5, tooLarge, tooLarge * 2, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => encodeClear({ ...CLEAR, [field]: bad }), (e: unknown) => e instanceof RangeError, `${field} = ${bad}`);
    }
    // The largest value is accepted.
    encodeClear({ ...CLEAR, [field]: tooLarge - 1 });
  }
});

test('encodeV1 throws RangeError for out-of-range fields (PSNs are 16 bits)', () => {
  const limits: Array<[keyof V1Fields, number]> = [
    ['scaleDtlr', 256],
    ['scaleDtls', 256],
    ['psntp', 0x10000],
    ['psnlr', 0x10000],
    ['deltaTlr', 0x10000],
    ['deltaTls', 0x10000],
  ];
  for (const [field, tooLarge] of limits) {
    for (const bad of [-1, 0.25, tooLarge, Number.NaN]) {
      assert.throws(() => encodeV1({ ...V1, [field]: bad }), (e: unknown) => e instanceof RangeError, `${field} = ${bad}`);
    }
    encodeV1({ ...V1, [field]: tooLarge - 1 });
  }
});

test('encodeDraftClear throws RangeError for out-of-range fields (random 15 bits, flag 1 bit)', () => {
  const limits: Array<[keyof DraftFields, number]> = [
    ['random', 0x8000],
    ['flag', 2],
    ['scaleDtlr', 256],
    ['scaleDtls', 256],
    ['globalPointer', 2 ** 32],
    ['psntp', 0x10000],
    ['psnlr', 0x10000],
    ['deltaTlr', 0x10000],
    ['deltaTls', 0x10000],
  ];
  for (const [field, tooLarge] of limits) {
    for (const bad of [-1, 0.5, tooLarge, Number.NaN]) {
      assert.throws(() => encodeDraftClear({ ...DRAFT, [field]: bad }), (e: unknown) => e instanceof RangeError, `${field} = ${bad}`);
    }
    encodeDraftClear({ ...DRAFT, [field]: tooLarge - 1 });
  }
});

test('encodeEncrypted / encryptedHeader / encodeMetricsBlock / versionEpochWord throw RangeError', () => {
  const ct = new Uint8Array(16);
  const tag = new Uint8Array(12);
  for (const bad of BAD_U32) {
    assert.throws(() => encodeEncrypted(0, bad, ct, tag), (e: unknown) => e instanceof RangeError, `psntp ${bad}`);
    assert.throws(() => encryptedHeader(0, bad), (e: unknown) => e instanceof RangeError, `header psntp ${bad}`);
  }
  for (const bad of [-1, 0x1000, 0.5, Number.NaN]) {
    assert.throws(() => encodeEncrypted(bad, 0, ct, tag), (e: unknown) => e instanceof RangeError, `epoch ${bad}`);
    assert.throws(() => versionEpochWord(bad), (e: unknown) => e instanceof RangeError, `version word epoch ${bad}`);
  }
  for (const n of [0, 15, 17, 32]) {
    assert.throws(() => encodeEncrypted(0, 0, new Uint8Array(n), tag), (e: unknown) => e instanceof RangeError, `ciphertext ${n}`);
  }
  for (const n of [0, 11, 13, 16]) {
    assert.throws(() => encodeEncrypted(0, 0, ct, new Uint8Array(n)), (e: unknown) => e instanceof RangeError, `tag ${n}`);
  }
  assert.throws(() => encodeMetricsBlock({ ...CLEAR, psnlr: -1 }), (e: unknown) => e instanceof RangeError);
  assert.throws(() => encodeMetricsBlock({ ...CLEAR, deltaTls: 0x10000 }), (e: unknown) => e instanceof RangeError);
});

test.run();
