/// <reference types="node" />
// Sealing of the PDMv2 option (docs/PROTOCOL.md §5.4), verified byte for byte
// against node:crypto AES-GCM with a 12-octet tag, in both directions.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCipheriv, createDecipheriv, randomBytes, randomInt } from 'node:crypto';
import { randomClearFields } from './random-fields.js';
import { toHex } from '../core/src/util/bytes.js';
import { AEAD_AES_128_GCM, AEAD_AES_256_GCM, KeyScheduleError } from '../core/src/keys/schedule.js';
import { decodeOption, encodeMetricsBlock, type Pdmv2Clear } from '../core/src/wire/options.js';
import { openOption, optionNonce, sealOption, sealOptionTrace, type OpenError } from '../core/src/keys/seal.js';

type Fields = Omit<Pdmv2Clear, 'format'>;

const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));


const FIELDS: Fields = {
  epoch: 0x103,
  psntp: 0x00000102,
  psnlr: 0xa0b0c0d0,
  globalPointer: 77,
  scaleDtlr: 24,
  scaleDtls: 31,
  deltaTlr: 59605,
  deltaTls: 40000,
};

const cipherName = (key: Uint8Array): 'aes-128-gcm' | 'aes-256-gcm' => (key.length === 16 ? 'aes-128-gcm' : 'aes-256-gcm');

/** Nonce and AAD exactly as PROTOCOL.md §5.4 words them, built from the option's octets. */
function docNonce(option: Uint8Array): Buffer {
  return Buffer.concat([Buffer.alloc(6), Buffer.from(option.subarray(2, 4)), Buffer.from(option.subarray(4, 8))]);
}
function docAad(option: Uint8Array): Buffer {
  return Buffer.from(option.subarray(0, 8));
}

/** Independent opening with node:crypto: returns the plaintext or null if the tag does not verify. */
function nodeOpen(key: Uint8Array, option: Uint8Array): Buffer | null {
  const d = createDecipheriv(cipherName(key), key, docNonce(option), { authTagLength: 12 });
  d.setAAD(docAad(option));
  d.setAuthTag(Buffer.from(option.subarray(24, 36)));
  const pt = d.update(Buffer.from(option.subarray(8, 24)));
  try {
    d.final();
  } catch {
    return null;
  }
  return pt;
}

/** Independent sealing with node:crypto, with the clear part laid out as in §1.2. */
function nodeSeal(key: Uint8Array, epoch: number, psntp: number, plaintext: Uint8Array): Uint8Array {
  const clear = Buffer.alloc(8);
  clear[0] = 0x0f;
  clear[1] = 0x22;
  clear.writeUInt16BE(0x2000 | epoch, 2);
  clear.writeUInt32BE(psntp, 4);
  const c = createCipheriv(cipherName(key), key, docNonce(clear), { authTagLength: 12 });
  c.setAAD(clear);
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  const tag = c.getAuthTag();
  assert.is(tag.length, 12);
  return new Uint8Array(Buffer.concat([clear, ct, tag]));
}

// ---------------------------------------------------------------- seal → node:crypto

test('sealOption output opens with node:crypto AES-128-GCM (12-octet tag), plaintext = metrics block', () => {
  for (let i = 0; i < 300; i++) {
    const key = rand(16);
    const f = i === 0 ? FIELDS : randomClearFields();
    const option = sealOption(key, AEAD_AES_128_GCM, f);
    assert.is(option.length, 36);
    const pt = nodeOpen(key, option);
    assert.ok(pt, 'tag verifies with node:crypto');
    assert.equal(new Uint8Array(pt!), encodeMetricsBlock(f));
    // The clear part is exactly §1.2.
    assert.is(option[0], 0x0f);
    assert.is(option[1], 0x22);
    assert.is((option[2]! << 8) | option[3]!, 0x2000 | f.epoch);
    assert.is(Buffer.from(option).readUInt32BE(4), f.psntp);
  }
});

test('sealOption output opens with node:crypto AES-256-GCM', () => {
  for (let i = 0; i < 200; i++) {
    const key = rand(32);
    const f = randomClearFields();
    const option = sealOption(key, AEAD_AES_256_GCM, f);
    const pt = nodeOpen(key, option);
    assert.ok(pt);
    assert.equal(new Uint8Array(pt!), encodeMetricsBlock(f));
  }
});

test('sealOption equals node:crypto sealing of the same fields, octet for octet', () => {
  for (let i = 0; i < 200; i++) {
    const key = rand(i % 2 === 0 ? 16 : 32);
    const f = randomClearFields();
    const ours = sealOption(key, key.length === 16 ? AEAD_AES_128_GCM : AEAD_AES_256_GCM, f);
    assert.is(toHex(ours), toHex(nodeSeal(key, f.epoch, f.psntp, encodeMetricsBlock(f))));
  }
});

test('sealOptionTrace: nonce and AAD as §5.4, tag is the first 12 octets of the 16-octet GCM tag', () => {
  const key = rand(16);
  const t = sealOptionTrace(key, AEAD_AES_128_GCM, FIELDS);
  assert.is(toHex(t.nonce), '000000000000' + '2103' + '00000102');
  assert.is(toHex(t.aad), '0f22' + '2103' + '00000102');
  assert.equal(t.nonce, new Uint8Array(docNonce(t.option)));
  assert.equal(t.aad, new Uint8Array(docAad(t.option)));
  assert.equal(optionNonce(t.aad), t.nonce);
  assert.equal(t.plaintext, encodeMetricsBlock(FIELDS));
  assert.equal(t.option, Uint8Array.from([...t.aad, ...t.ciphertext, ...t.tag]));
  // The full 16-octet tag from node:crypto starts with the 12 octets sent.
  const c = createCipheriv('aes-128-gcm', key, docNonce(t.option));
  c.setAAD(docAad(t.option));
  const ct = Buffer.concat([c.update(t.plaintext), c.final()]);
  const tag16 = c.getAuthTag();
  assert.is(tag16.length, 16);
  assert.is(toHex(t.ciphertext), ct.toString('hex'));
  assert.is(toHex(t.tag), tag16.subarray(0, 12).toString('hex'));
  // sealOption and the trace agree.
  assert.equal(sealOption(key, AEAD_AES_128_GCM, FIELDS), t.option);
});

test('the clear part decodes as a pdmv2-encrypted option', () => {
  const option = sealOption(rand(16), AEAD_AES_128_GCM, FIELDS);
  const d = decodeOption(option);
  assert.ok(d.ok);
  if (d.ok && d.value.format === 'pdmv2-encrypted') {
    assert.is(d.value.epoch, FIELDS.epoch);
    assert.is(d.value.psntp, FIELDS.psntp);
  } else assert.unreachable('format');
});

// ---------------------------------------------------------------- node:crypto → open

test('openOption opens options sealed by node:crypto (AES-128 and AES-256)', () => {
  for (let i = 0; i < 300; i++) {
    const key = rand(i % 2 === 0 ? 16 : 32);
    const f = randomClearFields();
    const option = nodeSeal(key, f.epoch, f.psntp, encodeMetricsBlock(f));
    const r = openOption(key, key.length === 16 ? AEAD_AES_128_GCM : AEAD_AES_256_GCM, option);
    assert.ok(r.ok, r.ok ? '' : r.error);
    if (r.ok) assert.equal(r.value, { format: 'pdmv2-clear', ...f });
  }
});

test('openOption does not modify its input and round-trips sealOption', () => {
  const key = rand(16);
  for (let i = 0; i < 100; i++) {
    const f = randomClearFields();
    const option = sealOption(key, AEAD_AES_128_GCM, f);
    const copy = option.slice();
    const r = openOption(key, AEAD_AES_128_GCM, option);
    assert.equal(option, copy);
    assert.equal(r, { ok: true, value: { format: 'pdmv2-clear', ...f } });
  }
});

// ---------------------------------------------------------------- tampering

function expectedTamperError(bit: number): OpenError {
  const octet = bit >> 3;
  const inOctet = bit & 7; // 0 = most significant
  if (octet === 0) return 'NOT_PDM';
  if (octet === 1) return 'BAD_LENGTH';
  if (octet === 2 && inOctet < 4) return 'BAD_VERSION';
  return 'TAG_MISMATCH';
}

test('flipping any single bit of the 36 octets fails: TAG_MISMATCH, or the structural error for type/length/version', () => {
  for (const [aead, keyLen] of [
    [AEAD_AES_128_GCM, 16],
    [AEAD_AES_256_GCM, 32],
  ] as const) {
    const key = rand(keyLen);
    const option = sealOption(key, aead, randomClearFields());
    for (let bit = 0; bit < 36 * 8; bit++) {
      const bad = option.slice();
      bad[bit >> 3] = bad[bit >> 3]! ^ (0x80 >> (bit & 7));
      const r = openOption(key, aead, bad);
      assert.is(r.ok, false, `bit ${bit} accepted`);
      if (!r.ok) assert.is(r.error, expectedTamperError(bit), `bit ${bit} (octet ${bit >> 3})`);
      // node:crypto agrees that the tag no longer verifies (for the authenticated octets).
      if (expectedTamperError(bit) === 'TAG_MISMATCH') assert.is(nodeOpen(key, bad), null, `node:crypto, bit ${bit}`);
    }
  }
});

test('wrong key, swapped options, wrong AEAD size → TAG_MISMATCH', () => {
  const key = rand(16);
  const f = randomClearFields();
  const option = sealOption(key, AEAD_AES_128_GCM, f);
  const other = rand(16);
  assert.equal(openOption(other, AEAD_AES_128_GCM, option), { ok: false, error: 'TAG_MISMATCH' });
  // Same key, option from another PSNTP: ciphertext and tag moved onto a different clear part.
  const second = sealOption(key, AEAD_AES_128_GCM, { ...f, psntp: (f.psntp + 1) >>> 0 });
  const spliced = Uint8Array.from([...second.subarray(0, 8), ...option.subarray(8)]);
  assert.equal(openOption(key, AEAD_AES_128_GCM, spliced), { ok: false, error: 'TAG_MISMATCH' });
  // A 16-octet key for AES-256 zero-padded is a different key.
  const k256 = new Uint8Array(32);
  k256.set(key);
  assert.equal(openOption(k256, AEAD_AES_256_GCM, option), { ok: false, error: 'TAG_MISMATCH' });
});

test('structural errors of openOption: TRUNCATED, TRAILING_DATA, NOT_PDM, BAD_LENGTH, BAD_VERSION', () => {
  const key = rand(16);
  const option = sealOption(key, AEAD_AES_128_GCM, FIELDS);
  for (let n = 0; n < 36; n++) assert.equal(openOption(key, AEAD_AES_128_GCM, option.slice(0, n)), { ok: false, error: 'TRUNCATED' }, `${n} octets`);
  assert.equal(openOption(key, AEAD_AES_128_GCM, Uint8Array.from([...option, 0])), { ok: false, error: 'TRAILING_DATA' });
  const notPdm = option.slice();
  notPdm[0] = 0x1e;
  assert.equal(openOption(key, AEAD_AES_128_GCM, notPdm), { ok: false, error: 'NOT_PDM' });
  const badLen = option.slice();
  badLen[1] = 0x16;
  assert.equal(openOption(key, AEAD_AES_128_GCM, badLen), { ok: false, error: 'BAD_LENGTH' });
  for (const v of [0, 1, 3, 15]) {
    const badVersion = option.slice();
    badVersion[2] = (v << 4) | (badVersion[2]! & 0x0f);
    assert.equal(openOption(key, AEAD_AES_128_GCM, badVersion), { ok: false, error: 'BAD_VERSION' }, `version ${v}`);
  }
});

// ---------------------------------------------------------------- key checks

test('wrong key length → RangeError (seal and open, both AEADs)', () => {
  const option = sealOption(rand(16), AEAD_AES_128_GCM, FIELDS);
  for (const [aead, bad] of [
    [AEAD_AES_128_GCM, [0, 15, 17, 24, 32]],
    [AEAD_AES_256_GCM, [0, 16, 24, 31, 33]],
  ] as const) {
    for (const n of bad) {
      assert.throws(() => sealOption(new Uint8Array(n), aead, FIELDS), (e: unknown) => e instanceof RangeError, `seal aead ${aead} key ${n}`);
      assert.throws(() => sealOptionTrace(new Uint8Array(n), aead, FIELDS), (e: unknown) => e instanceof RangeError, `trace aead ${aead} key ${n}`);
      assert.throws(() => openOption(new Uint8Array(n), aead, option), (e: unknown) => e instanceof RangeError, `open aead ${aead} key ${n}`);
    }
  }
});

test('unknown AEAD id → KeyScheduleError BAD_AEAD', () => {
  for (const id of [0, 3, 0xffff]) {
    assert.throws(() => sealOption(rand(16), id, FIELDS), (e: unknown) => e instanceof KeyScheduleError && e.code === 'BAD_AEAD');
    assert.throws(() => openOption(rand(16), id, new Uint8Array(36)), (e: unknown) => e instanceof KeyScheduleError && e.code === 'BAD_AEAD');
  }
});

test('out-of-range fields → RangeError from sealOption', () => {
  for (const bad of [{ epoch: 0x1000 }, { psntp: -1 }, { psnlr: 2 ** 32 }, { deltaTlr: 0x10000 }, { scaleDtls: 1.5 }]) {
    assert.throws(() => sealOption(rand(16), AEAD_AES_128_GCM, { ...FIELDS, ...bad }), (e: unknown) => e instanceof RangeError, JSON.stringify(bad));
  }
});

test('random 36-octet garbage never throws in openOption and never opens', () => {
  const key = rand(16);
  for (let i = 0; i < 2000; i++) {
    const g = rand(randomInt(0, 64));
    if (i % 2 === 0 && g.length >= 3) {
      g[0] = 0x0f;
      g[1] = 0x22;
      g[2] = 0x20 | (g[2]! & 0x0f);
    }
    const r = openOption(key, AEAD_AES_128_GCM, g);
    assert.is(r.ok, false);
    if (!r.ok) assert.ok(['TRUNCATED', 'TRAILING_DATA', 'NOT_PDM', 'BAD_LENGTH', 'BAD_VERSION', 'TAG_MISMATCH'].includes(r.error), r.error);
  }
});

test.run();
