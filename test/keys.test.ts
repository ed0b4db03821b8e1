/// <reference types="node" />
// Key schedule (docs/PROTOCOL.md §5): every derivation checked against an
// independent HKDF from node:crypto, labels checked against the document,
// separation of keys, epochs, errors and longest-prefix match.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHmac, hkdfSync, randomBytes, randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../build/repo-root.js';
import { toHex } from '../core/src/util/bytes.js';
import { parseIpv6, parsePrefix } from '../core/src/wire/addr.js';
import { LABEL_PAIRING_INFO } from '../core/src/pairing/secret.js';
import {
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  aeadKeyLength,
  checkPrefix,
  clientPrefixSecret,
  hostSecret,
  kdf,
  kdfInfo,
  kdfTrace,
  KeyScheduleError,
  LABEL_CS,
  LABEL_HS,
  LABEL_PMS,
  LABEL_SGS,
  LABEL_STK,
  longestPrefixMatch,
  makeEpoch,
  pmsExporterContext,
  prefixContains,
  prefixContext,
  SECRET_LEN,
  serverGroupSecret,
  sessionTemporaryKey,
  splitEpoch,
  stkContext,
  type FlowTuple,
  type KeyScheduleErrorCode,
  type Prefix,
} from '../core/src/keys/schedule.js';

// ---------------------------------------------------------------- independent reference (node:crypto only)

const EMPTY = Buffer.alloc(0);

function be(value: number, octets: number): Buffer {
  const b = Buffer.alloc(octets);
  b.writeUIntBE(value, 0, octets);
  return b;
}

/** KDF of PROTOCOL.md §5.1 with node:crypto: HKDF-SHA256, empty salt, info = label || 00 || context. */
function refKdf(parent: Uint8Array, label: string, context: Uint8Array, length: number): Uint8Array {
  const info = Buffer.concat([Buffer.from(label, 'ascii'), Buffer.of(0), Buffer.from(context)]);
  return new Uint8Array(hkdfSync('sha256', Buffer.from(parent), EMPTY, info, length));
}

function refSgs(pms: Uint8Array, generation: number): Uint8Array {
  return refKdf(pms, 'pdmv2 v1 sgs', be(generation, 4), 32);
}

function refCs(sgs: Uint8Array, prefix: Uint8Array, length: number): Uint8Array {
  return refKdf(sgs, 'pdmv2 v1 cs', Buffer.concat([Buffer.from(prefix), be(length, 1)]), 32);
}

function refHs(cs: Uint8Array, host: Uint8Array): Uint8Array {
  return refKdf(cs, 'pdmv2 v1 hs', host, 32);
}

function refStk(hs: Uint8Array, aead: number, epoch: number, t: FlowTuple): Uint8Array {
  const ctx = Buffer.concat([be(aead, 2), be(epoch, 2), Buffer.from(t.src), Buffer.from(t.dst), be(t.sport, 2), be(t.dport, 2), be(t.protocol, 1)]);
  assert.is(ctx.length, 41);
  return refKdf(hs, 'pdmv2 v1 stk', ctx, aead === 1 ? 16 : 32);
}

const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));

/** A random prefix with host bits cleared. */
function randomPrefix(): Prefix {
  const length = randomInt(0, 129);
  const address = rand(16);
  for (let bit = length; bit < 128; bit++) address[bit >> 3] = address[bit >> 3]! & ~(0x80 >> (bit & 7));
  return { address, length };
}

function randomTuple(): FlowTuple {
  return { src: rand(16), dst: rand(16), sport: randomInt(0x10000), dport: randomInt(0x10000), protocol: randomInt(256) };
}

const PMS = rand(32);

function expectKeyError(fn: () => unknown, code: KeyScheduleErrorCode, what: string): void {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof KeyScheduleError, `${what}: KeyScheduleError, got ${String(e)}`);
    assert.ok(e instanceof Error);
    if (e instanceof KeyScheduleError) {
      assert.is(e.code, code, what);
      assert.is(e.name, 'KeyScheduleError');
    }
    return;
  }
  assert.unreachable(`${what}: no error`);
}

// ---------------------------------------------------------------- KDF

test('KDF: PRK is HMAC-SHA256 with 32 zero octets as key (empty salt), info = label || 00 || context', () => {
  for (let i = 0; i < 20; i++) {
    const parent = rand(randomInt(16, 80));
    const context = rand(randomInt(0, 50));
    const t = kdfTrace(parent, 'pdmv2 v1 test', context, 42);
    assert.is(toHex(t.prk), createHmac('sha256', Buffer.alloc(32)).update(parent).digest('hex'));
    assert.is(toHex(t.prk), createHmac('sha256', EMPTY).update(parent).digest('hex'), 'empty key = 32 zero octets');
    assert.is(toHex(t.info), Buffer.concat([Buffer.from('pdmv2 v1 test'), Buffer.of(0), Buffer.from(context)]).toString('hex'));
    assert.equal(t.okm, refKdf(parent, 'pdmv2 v1 test', context, 42));
    assert.equal(kdf(parent, 'pdmv2 v1 test', context, 42), t.okm);
  }
  assert.equal(kdfInfo('pdmv2 v1 x', Uint8Array.of(1, 2)), Uint8Array.from([...Buffer.from('pdmv2 v1 x'), 0, 1, 2]));
});

test('KDF: a manual HKDF-Expand (T(1) || T(2) …) gives the same output', () => {
  const parent = rand(32);
  const context = rand(9);
  const prk = createHmac('sha256', Buffer.alloc(32)).update(parent).digest();
  const info = Buffer.concat([Buffer.from(LABEL_HS), Buffer.of(0), context]);
  let t = Buffer.alloc(0);
  let okm = Buffer.alloc(0);
  for (let i = 1; okm.length < 80; i++) {
    t = createHmac('sha256', prk).update(Buffer.concat([t, info, Buffer.of(i)])).digest();
    okm = Buffer.concat([okm, t]);
  }
  assert.is(toHex(kdf(parent, LABEL_HS, context, 80)), okm.subarray(0, 80).toString('hex'));
});

test('SGS equals node:crypto HKDF for several generations', () => {
  for (const g of [0, 1, 2, 15, 16, 18, 0xffff, 0xffffffff, randomInt(2 ** 32)]) {
    const sgs = serverGroupSecret(PMS, g);
    assert.is(sgs.length, SECRET_LEN);
    assert.equal(sgs, refSgs(PMS, g), `generation ${g}`);
  }
});

test('CS(P) equals node:crypto HKDF for fixed and random prefixes', () => {
  const sgs = refSgs(PMS, 1);
  for (const text of ['::/0', '2001:db8::/32', '2001:db8:1::/48', '2001:db8:1:2::/64', '2001:db8:1:2:3:4:5:6/128']) {
    const p = parsePrefix(text);
    assert.equal(clientPrefixSecret(sgs, p), refCs(sgs, p.address, p.length), text);
    assert.equal(prefixContext(p), Uint8Array.from([...p.address, p.length]));
  }
  for (let i = 0; i < 100; i++) {
    const p = randomPrefix();
    assert.equal(clientPrefixSecret(sgs, p), refCs(sgs, p.address, p.length));
  }
});

test('HS(h) equals node:crypto HKDF', () => {
  const cs = refCs(refSgs(PMS, 1), parsePrefix('2001:db8:1::/48').address, 48);
  for (let i = 0; i < 50; i++) {
    const h = rand(16);
    assert.equal(hostSecret(cs, h), refHs(cs, h));
  }
});

test('STK equals node:crypto HKDF (AES-128-GCM 16 octets, AES-256-GCM 32 octets)', () => {
  const hs = refHs(refCs(refSgs(PMS, 3), parsePrefix('2001:db8:1::/48').address, 48), parseIpv6('2001:db8:1::10'));
  for (let i = 0; i < 100; i++) {
    const aead = i % 2 === 0 ? AEAD_AES_128_GCM : AEAD_AES_256_GCM;
    const epoch = randomInt(0x1000);
    const t = randomTuple();
    const stk = sessionTemporaryKey(hs, aead, epoch, t);
    assert.is(stk.length, aead === AEAD_AES_128_GCM ? 16 : 32);
    assert.equal(stk, refStk(hs, aead, epoch, t));
  }
});

test('full chain PMS → SGS → CS → HS → STK matches the reference end to end', () => {
  const pms = rand(32);
  const prefix = parsePrefix('2001:db8:1:2::/64');
  const client = parseIpv6('2001:db8:1:2::abcd');
  const server = parseIpv6('2001:db8:2::20');
  const epoch = makeEpoch(18, 255);
  const tuple: FlowTuple = { src: client, dst: server, sport: 51000, dport: 443, protocol: 6 };
  const ours = sessionTemporaryKey(hostSecret(clientPrefixSecret(serverGroupSecret(pms, 18), prefix), client), AEAD_AES_256_GCM, epoch, tuple);
  const ref = refStk(refHs(refCs(refSgs(pms, 18), prefix.address, 64), client), 2, 0x2ff, tuple);
  assert.equal(ours, ref);
  assert.is(ours.length, 32);
});

test('stkContext layout: u16 aead || u16 epoch || src || dst || u16 sport || u16 dport || u8 proto', () => {
  const t: FlowTuple = { src: parseIpv6('2001:db8:1::10'), dst: parseIpv6('2001:db8:2::20'), sport: 0x1234, dport: 0xabcd, protocol: 17 };
  assert.is(
    toHex(stkContext(AEAD_AES_256_GCM, 0x3fe, t)),
    '0002' + '03fe' + '20010db8000100000000000000000010' + '20010db8000200000000000000000020' + '1234' + 'abcd' + '11',
  );
});

test('pmsExporterContext = "pdmv2 v1 pms" || 00 || salt', () => {
  const salt = rand(32);
  assert.equal(pmsExporterContext(salt), Uint8Array.from([...Buffer.from('pdmv2 v1 pms', 'ascii'), 0, ...salt]));
});

// ---------------------------------------------------------------- labels from the document

test('labels are exactly those of PROTOCOL.md §5.1 table and §5.2 (doc and code cannot drift)', () => {
  const doc = readFileSync(join(repoRoot(), 'docs', 'PROTOCOL.md'), 'utf8');
  const s51 = doc.slice(doc.indexOf('### 5.1'), doc.indexOf('### 5.2'));
  const rows = new Map<string, string>();
  for (const m of s51.matchAll(/^\| ([A-Z]+)(?:\([A-Za-z]\))? \| `([^`]+)` \|/gm)) rows.set(m[1]!, m[2]!);
  assert.equal([...rows.keys()].sort(), ['CS', 'HS', 'SGS', 'STK'], 'the table rows with labels');
  assert.is(LABEL_SGS, rows.get('SGS'));
  assert.is(LABEL_CS, rows.get('CS'));
  assert.is(LABEL_HS, rows.get('HS'));
  assert.is(LABEL_STK, rows.get('STK'));
  // The formulas under the table use the same strings.
  for (const [name, label] of [
    ['SGS', LABEL_SGS],
    ['CS(P)', LABEL_CS],
    ['HS(h)', LABEL_HS],
    ['STK', LABEL_STK],
  ] as const) {
    const formula = new RegExp(`\`${name.replace(/[()]/g, '\\$&')} = KDF\\([^,]+, "([^"]+)"`).exec(s51);
    assert.ok(formula, `formula for ${name}`);
    assert.is(formula![1], label, `formula for ${name}`);
  }
  // Every label starts with "pdmv2 v1 ", is ASCII and has no NUL.
  for (const label of [LABEL_PMS, LABEL_SGS, LABEL_CS, LABEL_HS, LABEL_STK, LABEL_PAIRING_INFO]) {
    assert.ok(label.startsWith('pdmv2 v1 '), label);
    assert.ok(/^[\x20-\x7e]+$/.test(label), label);
  }
  assert.is(new Set([LABEL_PMS, LABEL_SGS, LABEL_CS, LABEL_HS, LABEL_STK, LABEL_PAIRING_INFO]).size, 6, 'labels distinct');
  // §5.2: exporter context and pairing info.
  const s52 = doc.slice(doc.indexOf('### 5.2'), doc.indexOf('### 5.3'));
  const exporter = /exporter_context\s*=\s*"([^"]+)"/.exec(s52);
  assert.ok(exporter, 'exporter_context in §5.2');
  assert.is(LABEL_PMS, exporter![1]);
  const info = /info\s*=\s*"([^"]+)"/.exec(s52);
  assert.ok(info, 'pairing info in §5.2');
  assert.is(LABEL_PAIRING_INFO, info![1]);
});

test('key lengths of the table: 32 for SGS/CS/HS, Nk for STK; aead ids 1 and 2', () => {
  const doc = readFileSync(join(repoRoot(), 'docs', 'PROTOCOL.md'), 'utf8');
  const s51 = doc.slice(doc.indexOf('### 5.1'), doc.indexOf('### 5.2'));
  for (const name of ['SGS', 'CS\\(P\\)', 'HS\\(h\\)']) assert.match(s51, new RegExp(`^\\| ${name} \\|.*\\| 32 \\|$`, 'm'), name);
  assert.match(s51, /`0x0001` AES-128-GCM \(Nk = 16\)/);
  assert.match(s51, /`0x0002` AES-256-GCM \(Nk = 32\)/);
  assert.is(AEAD_AES_128_GCM, 1);
  assert.is(AEAD_AES_256_GCM, 2);
  assert.is(aeadKeyLength(AEAD_AES_128_GCM), 16);
  assert.is(aeadKeyLength(AEAD_AES_256_GCM), 32);
  assert.is(SECRET_LEN, 32);
});

// ---------------------------------------------------------------- separation

test('the two directions of a flow get different STKs, both from the client HS', () => {
  const client = parseIpv6('2001:db8:1::10');
  const server = parseIpv6('2001:db8:2::20');
  const hs = hostSecret(clientPrefixSecret(serverGroupSecret(PMS, 1), parsePrefix('2001:db8:1::/48')), client);
  const forward: FlowTuple = { src: client, dst: server, sport: 40000, dport: 5201, protocol: 17 };
  const reverse: FlowTuple = { src: server, dst: client, sport: 5201, dport: 40000, protocol: 17 };
  const a = sessionTemporaryKey(hs, AEAD_AES_128_GCM, 0x100, forward);
  const b = sessionTemporaryKey(hs, AEAD_AES_128_GCM, 0x100, reverse);
  assert.not.equal(a, b);
  assert.equal(b, refStk(hs, 1, 0x100, reverse));
  // ICMPv6 echo with identical ports: the addresses alone separate the directions.
  const e1 = sessionTemporaryKey(hs, AEAD_AES_128_GCM, 0, { src: client, dst: server, sport: 7, dport: 7, protocol: 58 });
  const e2 = sessionTemporaryKey(hs, AEAD_AES_128_GCM, 0, { src: server, dst: client, sport: 7, dport: 7, protocol: 58 });
  assert.not.equal(e1, e2);
});

test('different epoch, aead, ports, protocol, generation, prefix or host → different keys', () => {
  const t: FlowTuple = { src: parseIpv6('2001:db8:1::10'), dst: parseIpv6('2001:db8:2::20'), sport: 1, dport: 2, protocol: 17 };
  const hs = rand(32);
  const base = sessionTemporaryKey(hs, AEAD_AES_128_GCM, 5, t);
  const variants = [
    sessionTemporaryKey(hs, AEAD_AES_128_GCM, 6, t),
    sessionTemporaryKey(hs, AEAD_AES_128_GCM, 5 + 0x100, t),
    sessionTemporaryKey(hs, AEAD_AES_256_GCM, 5, t).subarray(0, 16),
    sessionTemporaryKey(hs, AEAD_AES_128_GCM, 5, { ...t, sport: 2, dport: 1 }),
    sessionTemporaryKey(hs, AEAD_AES_128_GCM, 5, { ...t, protocol: 6 }),
    sessionTemporaryKey(rand(32), AEAD_AES_128_GCM, 5, t),
  ];
  const seen = new Set([toHex(base), ...variants.map(toHex)]);
  assert.is(seen.size, 1 + variants.length, 'all distinct');
  // Upstream secrets.
  const sgs = new Set([0, 1, 16, 17].map((g) => toHex(serverGroupSecret(PMS, g))));
  assert.is(sgs.size, 4, 'generations');
  const sgs1 = serverGroupSecret(PMS, 1);
  const cs = new Set(['2001:db8::/32', '2001:db8::/48', '2001:db8::/64', '::/0'].map((p) => toHex(clientPrefixSecret(sgs1, parsePrefix(p)))));
  assert.is(cs.size, 4, 'same address, different prefix lengths');
  const cs1 = clientPrefixSecret(sgs1, parsePrefix('2001:db8::/32'));
  assert.not.equal(hostSecret(cs1, parseIpv6('2001:db8::1')), hostSecret(cs1, parseIpv6('2001:db8::2')));
  // Same label, different secret types never collide because labels differ.
  const same = rand(32);
  assert.not.equal(kdf(same, LABEL_HS, new Uint8Array(16), 32), kdf(same, LABEL_CS, new Uint8Array(16), 32));
});

test('AES-256 STK is 32 octets and not an extension of the AES-128 STK', () => {
  const hs = rand(32);
  const t = randomTuple();
  const k128 = sessionTemporaryKey(hs, AEAD_AES_128_GCM, 1, t);
  const k256 = sessionTemporaryKey(hs, AEAD_AES_256_GCM, 1, t);
  assert.is(k128.length, 16);
  assert.is(k256.length, 32);
  assert.not.equal(k256.subarray(0, 16), k128);
});

// ---------------------------------------------------------------- epochs

test('makeEpoch = (generation mod 16) << 8 | rekey; splitEpoch inverts it', () => {
  assert.is(makeEpoch(0, 0), 0);
  assert.is(makeEpoch(1, 0), 0x100);
  assert.is(makeEpoch(18, 255), 0x2ff);
  assert.is(makeEpoch(15, 1), 0xf01);
  assert.is(makeEpoch(16, 1), 0x001);
  assert.is(makeEpoch(0xffffffff, 0xff), 0xfff);
  for (let i = 0; i < 500; i++) {
    const g = randomInt(2 ** 32);
    const r = randomInt(256);
    const e = makeEpoch(g, r);
    assert.is(e, ((g % 16) << 8) | r);
    assert.equal(splitEpoch(e), { generationLow4: g % 16, rekey: r });
  }
  for (let e = 0; e < 0x1000; e++) {
    const s = splitEpoch(e);
    if (makeEpoch(s.generationLow4, s.rekey) !== e) assert.unreachable(`epoch ${e}`);
  }
});

test('epoch errors: rekey outside 0..255 and epochs wider than 12 bits → BAD_EPOCH; bad generation → BAD_SECRET', () => {
  for (const r of [-1, 256, 1.5, Number.NaN]) expectKeyError(() => makeEpoch(1, r), 'BAD_EPOCH', `rekey ${r}`);
  for (const e of [-1, 0x1000, 0.5, Number.NaN]) {
    expectKeyError(() => splitEpoch(e), 'BAD_EPOCH', `split ${e}`);
    expectKeyError(() => stkContext(AEAD_AES_128_GCM, e, randomTuple()), 'BAD_EPOCH', `stk epoch ${e}`);
  }
  for (const g of [-1, 2 ** 32, 1.5, Number.NaN]) {
    expectKeyError(() => makeEpoch(g, 0), 'BAD_SECRET', `generation ${g}`);
    expectKeyError(() => serverGroupSecret(PMS, g), 'BAD_SECRET', `sgs generation ${g}`);
  }
});

// ---------------------------------------------------------------- errors

test('errors: BAD_PREFIX (host bits set, length outside 0..128), never masked', () => {
  const sgs = serverGroupSecret(PMS, 1);
  const cases: Array<[string, Prefix]> = [
    ['host bit', { address: parseIpv6('2001:db8:1::1'), length: 48 }],
    ['last host bit of /127', { address: parseIpv6('::1'), length: 127 }],
    ['any bit with /0', { address: parseIpv6('8000::'), length: 0 }],
    ['length 129', { address: parseIpv6('2001:db8::'), length: 129 }],
    ['length -1', { address: new Uint8Array(16), length: -1 }],
    ['length 1.5', { address: new Uint8Array(16), length: 1.5 }],
  ];
  for (const [what, p] of cases) {
    expectKeyError(() => clientPrefixSecret(sgs, p), 'BAD_PREFIX', what);
    expectKeyError(() => checkPrefix(p), 'BAD_PREFIX', what);
    expectKeyError(() => prefixContext(p), 'BAD_PREFIX', what);
  }
  checkPrefix({ address: parseIpv6('2001:db8:1::'), length: 48 });
  checkPrefix({ address: new Uint8Array(16), length: 0 });
  checkPrefix({ address: rand(16), length: 128 });
});

test('errors: BAD_ADDRESS (not 16 octets)', () => {
  const cs = rand(32);
  for (const n of [0, 4, 15, 17]) {
    expectKeyError(() => hostSecret(cs, new Uint8Array(n)), 'BAD_ADDRESS', `host ${n}`);
    expectKeyError(() => clientPrefixSecret(cs, { address: new Uint8Array(n), length: 0 }), 'BAD_ADDRESS', `prefix ${n}`);
    expectKeyError(() => stkContext(AEAD_AES_128_GCM, 0, { ...randomTuple(), src: new Uint8Array(n) }), 'BAD_ADDRESS', `src ${n}`);
    expectKeyError(() => stkContext(AEAD_AES_128_GCM, 0, { ...randomTuple(), dst: new Uint8Array(n) }), 'BAD_ADDRESS', `dst ${n}`);
    expectKeyError(() => prefixContains({ address: new Uint8Array(16), length: 0 }, new Uint8Array(n)), 'BAD_ADDRESS', `contains ${n}`);
  }
});

test('errors: BAD_SECRET (parent shorter than 16 octets, pairing salt not 32 octets)', () => {
  for (const n of [0, 1, 15]) {
    expectKeyError(() => serverGroupSecret(new Uint8Array(n), 1), 'BAD_SECRET', `pms ${n}`);
    expectKeyError(() => hostSecret(new Uint8Array(n), new Uint8Array(16)), 'BAD_SECRET', `cs ${n}`);
    expectKeyError(() => kdf(new Uint8Array(n), LABEL_SGS, new Uint8Array(4), 32), 'BAD_SECRET', `kdf ${n}`);
  }
  assert.is(kdf(new Uint8Array(16), LABEL_SGS, new Uint8Array(4), 32).length, 32, '16 octets is enough');
  for (const n of [0, 16, 31, 33]) expectKeyError(() => pmsExporterContext(new Uint8Array(n)), 'BAD_SECRET', `salt ${n}`);
});

test('errors: BAD_AEAD (only 1 and 2 are data-path AEADs)', () => {
  for (const id of [0, 3, 0xffff, -1, 1.5]) {
    expectKeyError(() => aeadKeyLength(id), 'BAD_AEAD', `aead ${id}`);
    expectKeyError(() => sessionTemporaryKey(rand(32), id, 0, randomTuple()), 'BAD_AEAD', `stk aead ${id}`);
    expectKeyError(() => stkContext(id, 0, randomTuple()), 'BAD_AEAD', `context aead ${id}`);
  }
});

test('errors: BAD_TUPLE (ports outside 0..65535, protocol outside 0..255)', () => {
  const t = randomTuple();
  for (const v of [-1, 0x10000, 1.5, Number.NaN]) {
    expectKeyError(() => stkContext(AEAD_AES_128_GCM, 0, { ...t, sport: v }), 'BAD_TUPLE', `sport ${v}`);
    expectKeyError(() => stkContext(AEAD_AES_128_GCM, 0, { ...t, dport: v }), 'BAD_TUPLE', `dport ${v}`);
  }
  for (const v of [-1, 256, 0.5]) expectKeyError(() => sessionTemporaryKey(rand(32), AEAD_AES_128_GCM, 0, { ...t, protocol: v }), 'BAD_TUPLE', `protocol ${v}`);
  // The extremes are fine.
  stkContext(AEAD_AES_128_GCM, 0xfff, { ...t, sport: 0xffff, dport: 0, protocol: 255 });
});

// ---------------------------------------------------------------- longest-prefix match

/** Reference: compare bit by bit. */
function refContains(p: Prefix, a: Uint8Array): boolean {
  for (let bit = 0; bit < p.length; bit++) {
    const m = 0x80 >> (bit & 7);
    if ((p.address[bit >> 3]! & m) !== (a[bit >> 3]! & m)) return false;
  }
  return true;
}

test('longestPrefixMatch picks the longest containing prefix, whatever the order', () => {
  const texts = ['::/0', '2001:db8::/32', '2001:db8:1::/48', '2001:db8:1:2::/64', '2001:db8:1:2::abcd/128', '2001:db8:1:2::/63', '2001:db8:8000::/33'];
  const entries = texts.map((text) => ({ prefix: parsePrefix(text), text }));
  const cases: Array<[string, string]> = [
    ['2001:db8:1:2::abcd', '2001:db8:1:2::abcd/128'],
    ['2001:db8:1:2::abce', '2001:db8:1:2::/64'],
    ['2001:db8:1:3::1', '2001:db8:1:2::/63'],
    ['2001:db8:1:4::1', '2001:db8:1::/48'],
    ['2001:db8:ffff::1', '2001:db8:8000::/33'],
    ['2001:db8:7fff::1', '2001:db8::/32'],
    ['2001:db9::1', '::/0'],
    ['::', '::/0'],
  ];
  for (let round = 0; round < 20; round++) {
    const shuffled = [...entries].sort(() => randomInt(3) - 1);
    for (const [addr, expected] of cases) assert.is(longestPrefixMatch(shuffled, parseIpv6(addr))?.text, expected, `${addr} (round ${round})`);
  }
  const noDefault = entries.filter((e) => e.text !== '::/0');
  assert.is(longestPrefixMatch(noDefault, parseIpv6('2001:db9::1')), null);
  assert.is(longestPrefixMatch([], parseIpv6('::1')), null);
});

test('longestPrefixMatch agrees with a bit-by-bit reference on random prefixes', () => {
  for (let round = 0; round < 200; round++) {
    // Nested prefixes of one random address plus unrelated ones.
    const base = rand(16);
    const entries: Array<{ prefix: Prefix; id: number }> = [];
    const lengths = new Set<number>();
    for (let k = 0; k < 6; k++) lengths.add(randomInt(0, 129));
    for (const len of lengths) {
      const a = base.slice();
      for (let bit = len; bit < 128; bit++) a[bit >> 3] = a[bit >> 3]! & ~(0x80 >> (bit & 7));
      entries.push({ prefix: { address: a, length: len }, id: entries.length });
    }
    for (let k = 0; k < 3; k++) entries.push({ prefix: randomPrefix(), id: entries.length });
    for (const probe of [base, rand(16)]) {
      for (const e of entries) assert.is(prefixContains(e.prefix, probe), refContains(e.prefix, probe));
      const want = entries.filter((e) => refContains(e.prefix, probe)).reduce<number>((best, e) => Math.max(best, e.prefix.length), -1);
      const got = longestPrefixMatch(entries, probe);
      assert.is(got ? got.prefix.length : -1, want);
    }
  }
});

test.run();
