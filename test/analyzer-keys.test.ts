// Analyzer key source (analyzer/src/keys.ts): STKs from SGS and from CS(P)
// keys for both directions, longest-prefix match, generation by the epoch's
// nibble, opening through decodeCapture, wrong keys, bad key files; the lab's
// encrypted-scenario inputs (test/lab/encrypted-setup.ts) and host checks
// (test/lab/check-encrypted.ts).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { formatIpv6, parseIpv6, parsePrefix } from '../core/src/wire/addr.js';
import { ascii, fromHex, toHex } from '../core/src/util/bytes.js';
import { encodeAnalyzerKeys, sealAnalyzerKeys, type AnalyzerKeys } from '../core/src/enroll/export.js';
import { clientKey, serverKey } from '../core/src/enroll/schedule.js';
import { getKem, KemId } from '../core/src/hpke/hpke.js';
import { insertPdmOption, parsePacket, type FiveTuple } from '../core/src/wire/ipv6.js';
import {
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  clientPrefixSecret,
  hostSecret,
  serverGroupSecret,
  sessionTemporaryKey,
} from '../core/src/keys/schedule.js';
import { sealOption } from '../core/src/keys/seal.js';
import { decodeCapture, formatRecord, type KeyCandidate } from '../analyzer/src/decode.js';
import { analyzeFlows } from '../analyzer/src/flows.js';
import { AnalyzerKeyFileError, AnalyzerKeyRing, keySourceFromAnalyzerKeys, parseAnalyzerKeyFile, parseAnalyzerSecretKey } from '../analyzer/src/keys.js';
import { LINKTYPE_RAW, readPcap } from '../analyzer/src/pcap.js';
import { checkFlowEpochs, parseTraceLine } from './lab/check-encrypted.js';

const here = dirname(fileURLToPath(import.meta.url));
const rand = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const kem = getKem(KemId.DhkemX25519HkdfSha256);

const PMS = ascii('analyzer-keys test PMS, not real');
const OTHER_PMS = ascii('analyzer-keys OTHER PMS, not rea');
const CLIENT = '2001:db8:1::10';
const SERVER = '2001:db8:2::20';
const CLIENT_PREFIX = '2001:db8:1::/64';

const window = (g: number) => ({ generation: g, not_before: 1000 + g * 100, not_after: 1100 + g * 100 + 10 });

function keysFile(over: Partial<AnalyzerKeys> & { keys: AnalyzerKeys['keys'] }): AnalyzerKeys {
  return {
    pairing: '00000000000000a1',
    role: 'server',
    aead: AEAD_AES_128_GCM,
    mode: 'encrypted',
    t0: 1000,
    period: 100,
    overlap: 10,
    client_prefixes: [CLIENT_PREFIX],
    server_prefixes: ['2001:db8:2::/64'],
    created: 1100,
    ...over,
  };
}

const sgsKeys = (pms = PMS, gens = [1]): AnalyzerKeys => keysFile({ keys: gens.map((g) => serverKey(pms, window(g))) });

function tuple(fromClient: boolean, client = CLIENT, server = SERVER): FiveTuple {
  const c = parseIpv6(client);
  const s = parseIpv6(server);
  return fromClient ? { src: c, dst: s, sport: 40000, dport: 5201, protocol: 17 } : { src: s, dst: c, sport: 5201, dport: 40000, protocol: 17 };
}

/** The STK by the book (docs/PROTOCOL.md §5): client = whichever end is in the prefix. */
function expectedStk(pms: Uint8Array, gen: number, prefix: string, client: string, t: FiveTuple, epoch: number, aead = AEAD_AES_128_GCM): Uint8Array {
  const cs = clientPrefixSecret(serverGroupSecret(pms, gen), parsePrefix(prefix));
  return sessionTemporaryKey(hostSecret(cs, parseIpv6(client)), aead, epoch, t);
}

function only(ring: AnalyzerKeyRing, t: FiveTuple, epoch: number): KeyCandidate {
  const list = ring.candidates(t, epoch);
  assert.is(list.length, 1, `one candidate for epoch 0x${epoch.toString(16)}`);
  return list[0]!;
}

test('SGS keys: the right STK for both directions', () => {
  const ring = new AnalyzerKeyRing([sgsKeys()]);
  for (const fromClient of [true, false]) {
    const t = tuple(fromClient);
    const k = only(ring, t, 0x105);
    assert.equal(k.key, expectedStk(PMS, 1, CLIENT_PREFIX, CLIENT, t, 0x105));
    assert.is(k.aeadId, AEAD_AES_128_GCM);
    assert.is(k.label, '00000000000000a1/1');
    assert.is(k.client, CLIENT);
    assert.is(k.prefix, CLIENT_PREFIX);
  }
  // The two directions have different keys.
  assert.not.equal(only(ring, tuple(true), 0x100).key, only(ring, tuple(false), 0x100).key);
  // Neither end in a client prefix: no key.
  assert.is(ring.source(tuple(true, '2001:db8:9::1'), 0x100), null);
});

test('CS(P) keys: the same STKs as the SGS gives, AES-256-GCM too', () => {
  for (const aead of [AEAD_AES_128_GCM, AEAD_AES_256_GCM]) {
    const file = keysFile({ role: 'client', aead, client_prefixes: [CLIENT_PREFIX], keys: [clientKey(PMS, window(1), [CLIENT_PREFIX])] });
    const ring = new AnalyzerKeyRing([file]);
    for (const fromClient of [true, false]) {
      const t = tuple(fromClient);
      const k = only(ring, t, 0x1ff);
      assert.equal(k.key, expectedStk(PMS, 1, CLIENT_PREFIX, CLIENT, t, 0x1ff, aead));
      assert.is(k.key.length, aead === AEAD_AES_128_GCM ? 16 : 32);
    }
  }
});

test('longest prefix match over nested prefixes (CS secrets and SGS client prefixes)', () => {
  const outer = '2001:db8:1::/48';
  const inner = '2001:db8:1:5::/64';
  const inInner = '2001:db8:1:5::9';
  const inOuter = '2001:db8:1:6::9';
  const bySecrets = keysFile({ role: 'client', client_prefixes: [outer, inner], keys: [clientKey(PMS, window(1), [outer, inner])] });
  const bySgs = keysFile({ client_prefixes: [outer, inner], keys: [serverKey(PMS, window(1))] });
  for (const file of [bySecrets, bySgs]) {
    const ring = new AnalyzerKeyRing([file]);
    for (const fromClient of [true, false]) {
      const a = tuple(fromClient, inInner);
      assert.equal(only(ring, a, 0x100).key, expectedStk(PMS, 1, inner, inInner, a, 0x100));
      assert.is(only(ring, a, 0x100).prefix, inner);
      const b = tuple(fromClient, inOuter);
      assert.equal(only(ring, b, 0x100).key, expectedStk(PMS, 1, outer, inOuter, b, 0x100));
    }
  }
  // Only the inner prefix's CS given: a host outside it has no key.
  const narrow = new AnalyzerKeyRing([keysFile({ role: 'client', keys: [clientKey(PMS, window(1), [inner])] })]);
  assert.is(narrow.source(tuple(true, inOuter), 0x100), null);
  assert.ok(narrow.source(tuple(true, inInner), 0x100));
});

test('generation chosen by the epoch nibble; same-nibble generations newest first; no generation, no key', () => {
  const ring = new AnalyzerKeyRing([sgsKeys(PMS, [1, 2, 17])]);
  const t = tuple(true);
  assert.equal(only(ring, t, 0x207).key, expectedStk(PMS, 2, CLIENT_PREFIX, CLIENT, t, 0x207));
  const ones = ring.candidates(t, 0x100);
  assert.equal(ones.map((k) => k.generation), [17, 1]);
  assert.is(ring.source(t, 0x300), null);
  assert.equal(ring.candidates(t, 0x300), []);
  // An option sealed under generation 1 still opens: decode tries both.
  const option = sealOption(expectedStk(PMS, 1, CLIENT_PREFIX, CLIENT, t, 0x100), AEAD_AES_128_GCM, { ...metrics, epoch: 0x100, psntp: 9 });
  const [r] = decodeCapture(readPcap(pcap([packet(true, option)])), ring.source);
  assert.is(r!.decryption, 'ok');
  assert.is(r!.key, '00000000000000a1/1');
});

test('validity windows are ignored; files of one pairing merge; derived keys are cached', () => {
  const merged = new AnalyzerKeyRing([sgsKeys(PMS, [1]), sgsKeys(PMS, [2])]);
  assert.equal(merged.summary(), [{ pairing: '00000000000000a1', aead: 1, generations: [{ generation: 1, kind: 'sgs', prefixes: [CLIENT_PREFIX] }, { generation: 2, kind: 'sgs', prefixes: [CLIENT_PREFIX] }] }]);
  const t = tuple(true);
  merged.candidates(t, 0x100);
  const after = merged.derivations;
  for (let i = 0; i < 1000; i++) merged.candidates(t, 0x100);
  assert.is(merged.derivations, after, 'no derivation for a cached (tuple, epoch)');
  merged.candidates(t, 0x101);
  assert.is(merged.derivations, after + 1, 'a new epoch of the same client derives only its STK');
  assert.throws(() => new AnalyzerKeyRing([sgsKeys(PMS, [1]), sgsKeys(OTHER_PMS, [1])]), (e: unknown) => e instanceof AnalyzerKeyFileError && /two different SGS/.test(e.message));
  assert.throws(
    () => new AnalyzerKeyRing([sgsKeys(PMS, [1]), { ...sgsKeys(PMS, [2]), aead: 2 }]),
    (e: unknown) => e instanceof AnalyzerKeyFileError && /disagree on the AEAD/.test(e.message),
  );
});

test('pairings: the one whose server prefixes hold the peer wins', () => {
  const a = keysFile({ pairing: '00000000000000a1', server_prefixes: ['2001:db8:3::/64'], keys: [serverKey(PMS, window(1))] });
  const b = keysFile({ pairing: '00000000000000b2', server_prefixes: ['2001:db8:2::/64'], keys: [serverKey(OTHER_PMS, window(1))] });
  const ring = new AnalyzerKeyRing([a, b]);
  const list = ring.candidates(tuple(false), 0x100);
  assert.equal(list.map((k) => k.pairing), ['00000000000000b2', '00000000000000a1']);
});

// ---------------------------------------------------------------------------------------------
// Through decodeCapture

const metrics = { psnlr: 77, globalPointer: 5, scaleDtlr: 14, scaleDtls: 0, deltaTlr: 61035, deltaTls: 3 };

function packet(fromClient: boolean, option: Uint8Array): Uint8Array {
  return udpPacket(tuple(fromClient), option);
}

/** An IPv6/UDP packet of the tuple with no payload, the option inserted. */
function udpPacket(t: Pick<FiveTuple, 'src' | 'dst' | 'sport' | 'dport'>, option: Uint8Array): Uint8Array {
  const p = new Uint8Array(48);
  p[0] = 0x60;
  p[5] = 8;
  p[6] = 17;
  p.set(t.src, 8);
  p.set(t.dst, 24);
  p.set([t.sport >> 8, t.sport & 0xff, t.dport >> 8, t.dport & 0xff, 0, 8, 0, 0], 40);
  const r = insertPdmOption(p, option);
  if (!r.ok) throw new Error(r.error);
  return r.value;
}

/** Classic pcap, raw IPv6 link type, little-endian, µs. */
function pcap(packets: Uint8Array[], t0 = 1700000000): Uint8Array {
  const parts: number[] = [];
  const h = new DataView(new ArrayBuffer(24));
  h.setUint32(0, 0xa1b2c3d4, true);
  h.setUint16(4, 2, true);
  h.setUint16(6, 4, true);
  h.setUint32(16, 65535, true);
  h.setUint32(20, LINKTYPE_RAW, true);
  parts.push(...new Uint8Array(h.buffer));
  packets.forEach((p, i) => {
    const r = new DataView(new ArrayBuffer(16));
    r.setUint32(0, t0 + i, true);
    r.setUint32(8, p.length, true);
    r.setUint32(12, p.length, true);
    parts.push(...new Uint8Array(r.buffer), ...p);
  });
  return Uint8Array.from(parts);
}

function sealedFor(fromClient: boolean, psntp: number, pms = PMS, epoch = 0x100, psnlr = metrics.psnlr): Uint8Array {
  const t = tuple(fromClient);
  return sealOption(expectedStk(pms, 1, CLIENT_PREFIX, CLIENT, t, epoch), AEAD_AES_128_GCM, { ...metrics, psnlr, epoch, psntp });
}

test('sealed options round-trip through decodeCapture and reach the flow report', () => {
  const packets = readPcap(pcap([packet(true, sealedFor(true, 100, PMS, 0x100, 0)), packet(false, sealedFor(false, 500, PMS, 0x100, 100)), packet(true, sealedFor(true, 101, PMS, 0x100, 500))]));
  const source = keySourceFromAnalyzerKeys([sgsKeys()]);
  const records = decodeCapture(packets, source);
  assert.equal(records.map((r) => r.decryption), ['ok', 'ok', 'ok']);
  assert.equal(records[1]!.option, { format: 'pdmv2-clear', epoch: 0x100, psntp: 500, ...metrics, psnlr: 100 });
  assert.ok(Math.abs(records[0]!.deltaTlrNs! - 1) < 1e-5, 'DeltaTLR decoded from the opened block');
  assert.match(formatRecord(records[0]!), /pdmv2-encrypted epoch=256 psntp=100 tag=ok key=00000000000000a1\/1 psnlr=0 gp=5 dtlr=1\.000ns/);
  const report = analyzeFlows(records);
  assert.equal(report.flows.map((f) => f.withPdm), [2, 1]);
  assert.equal(report.flows.map((f) => f.psnlrInvalid), [0, 0]);
  assert.is(report.flows[0]!.errors, 0);
  // Without keys: unchanged records (no decryption field), NO_KEY as before.
  const plain = decodeCapture(packets);
  assert.is(plain[0]!.error, 'NO_KEY');
  assert.is(plain[0]!.decryption, undefined);
  assert.match(formatRecord(plain[0]!), /pdmv2-encrypted epoch=256 psntp=100 error=NO_KEY$/);
});

test('wrong key gives TAG_MISMATCH; no key for the prefix gives NO_KEY', () => {
  const packets = readPcap(pcap([packet(true, sealedFor(true, 100)), packet(false, sealedFor(false, 5))]));
  const wrong = decodeCapture(packets, keySourceFromAnalyzerKeys([sgsKeys(OTHER_PMS)]));
  assert.equal(wrong.map((r) => [r.error, r.decryption]), [['TAG_MISMATCH', 'TAG_MISMATCH'], ['TAG_MISMATCH', 'TAG_MISMATCH']]);
  assert.is(wrong[0]!.option?.format, 'pdmv2-encrypted');
  assert.match(formatRecord(wrong[0]!), /error=TAG_MISMATCH key=00000000000000a1\/1$/);
  const elsewhere = keysFile({ client_prefixes: ['2001:db8:7::/64'], keys: [serverKey(PMS, window(1))] });
  const none = decodeCapture(packets, keySourceFromAnalyzerKeys([elsewhere]));
  assert.equal(none.map((r) => r.decryption), ['NO_KEY', 'NO_KEY']);
  // A tampered ciphertext under the right key.
  const bad = sealedFor(true, 100);
  bad[10]! ^= 0x80;
  assert.is(decodeCapture(readPcap(pcap([packet(true, bad)])), keySourceFromAnalyzerKeys([sgsKeys()]))[0]!.error, 'TAG_MISMATCH');
});

// ---------------------------------------------------------------------------------------------
// Key files

function expectFileError(f: () => unknown, re: RegExp): void {
  assert.throws(f, (e: unknown) => e instanceof AnalyzerKeyFileError && re.test(e.message));
}

test('plaintext and sealed key files load; bad ones give clear errors', () => {
  const keys = sgsKeys(PMS, [1, 2]);
  const text = encodeAnalyzerKeys(keys);
  assert.equal(parseAnalyzerKeyFile(text), keys);
  assert.equal(parseAnalyzerKeyFile(ascii(`\n  ${JSON.stringify(JSON.parse(String.fromCharCode(...text)), null, 2)}\n`)), keys);

  const primary = kem.generateKeyPair(rand);
  const analyzer = kem.generateKeyPair(rand);
  const sealed = sealAnalyzerKeys({ keys, primarySk: primary.privateKey, primaryPk: primary.publicKey, analyzerPk: analyzer.publicKey, random: rand });
  assert.equal(parseAnalyzerKeyFile(sealed, analyzer.privateKey), keys);
  assert.equal(parseAnalyzerKeyFile(sealed, analyzer.privateKey, { primaryPk: primary.publicKey }), keys);
  expectFileError(() => parseAnalyzerKeyFile(sealed), /sealed .*--analyzer-key/);
  expectFileError(() => parseAnalyzerKeyFile(sealed, kem.generateKeyPair(rand).privateKey), /another analyzer key, or it is damaged/);
  expectFileError(() => parseAnalyzerKeyFile(sealed, analyzer.privateKey, { primaryPk: kem.generateKeyPair(rand).publicKey }), /another primary/);
  const damaged = sealed.slice();
  damaged[damaged.length - 1]! ^= 1;
  expectFileError(() => parseAnalyzerKeyFile(damaged, analyzer.privateKey), /damaged/);
  expectFileError(() => parseAnalyzerKeyFile(sealed.subarray(0, 20), analyzer.privateKey), /bad sealed key file/);
  const otherType = sealed.slice();
  otherType[1] = 0x01;
  expectFileError(() => parseAnalyzerKeyFile(otherType, analyzer.privateKey), /type 0x01, not an analyzer key file/);

  expectFileError(() => parseAnalyzerKeyFile(new Uint8Array(0)), /empty/);
  expectFileError(() => parseAnalyzerKeyFile(ascii('hello')), /neither/);
  expectFileError(() => parseAnalyzerKeyFile(ascii('{"v":1,')), /not valid JSON/);
  expectFileError(() => parseAnalyzerKeyFile(ascii('{"v":1,"type":"grant"}')), /not an analyzer key file/);
  const obj = JSON.parse(String.fromCharCode(...text)) as Record<string, unknown>;
  const variant = (patch: Record<string, unknown>): Uint8Array => ascii(JSON.stringify({ ...obj, ...patch }));
  expectFileError(() => parseAnalyzerKeyFile(variant({ aead: 3 })), /aead/);
  expectFileError(() => parseAnalyzerKeyFile(variant({ client_prefixes: ['2001:db8:1::1/64'] })), /client_prefixes\[0\].*host bits/);
  expectFileError(() => parseAnalyzerKeyFile(variant({ keys: [{ generation: 1, not_before: 1, not_after: 2, sgs: 'ab' }] })), /keys\[0\]\.sgs/);
  expectFileError(() => parseAnalyzerKeyFile(variant({ pairing: 'xyz' })), /pairing/);

  assert.equal(parseAnalyzerSecretKey(`${toHex(analyzer.privateKey)}\n`), analyzer.privateKey);
  expectFileError(() => parseAnalyzerSecretKey('abc'), /64 hex digits/);
});

// ---------------------------------------------------------------------------------------------
// The lab's encrypted scenario

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'pdmv2-enc-'));
}

function hexPackets(text: string): Array<[string, Uint8Array]> {
  return text
    .trim()
    .split('\n')
    .map((l) => {
      const [name, hex] = l.split(' ');
      return [name!, fromHex(hex!)];
    });
}

test('encrypted-setup: key files, control lines and injected packets agree with the key schedule', () => {
  const dir = tempDir();
  try {
    execFileSync(process.execPath, [join(here, 'lab', 'encrypted-setup.js'), dir], { stdio: 'pipe' });
    const secrets = parseAnalyzerKeyFile(new Uint8Array(readFileSync(join(dir, 'secrets.json'))));
    const wrongSecrets = parseAnalyzerKeyFile(new Uint8Array(readFileSync(join(dir, 'wrong-secrets.json'))));
    assert.is(secrets.pairing, '00000000000000a1');
    assert.equal(secrets.keys.map((k) => k.generation), [1, 2]);
    assert.equal(secrets.client_prefixes, ['2001:db8:1::/64']);
    assert.equal(secrets.server_prefixes, ['2001:db8:2::/64']);
    assert.not.equal(wrongSecrets.keys[0]!.sgs, secrets.keys[0]!.sgs);

    const ctl = (name: string): string[] => readFileSync(join(dir, name), 'utf8').trim().split('\n');
    for (const g of [1, 2]) {
      const sgs = fromHex(secrets.keys[g - 1]!.sgs!);
      const cs = toHex(clientPrefixSecret(sgs, parsePrefix('2001:db8:1::/64')));
      const rtr = ctl(`rtr-gen${g}.ctl`);
      assert.is(rtr[0], `key 00000000000000a1 ${g} 1 2001:db8:1::/64 ${cs}`);
      assert.equal(rtr.slice(1), g === 1 ? ['peer 00000000000000a1 2001:db8:2::/64', 'active 00000000000000a1 1'] : ['active 00000000000000a1 2']);
      assert.equal(ctl(`wan-gen${g}.ctl`), [`sgs 00000000000000a1 ${g} 1 ${toHex(sgs)} 2001:db8:1::/64`, `active 00000000000000a1 ${g}`]);
    }
    const blocks = readFileSync(join(dir, 'bad-control.txt'), 'utf8').trim().split('\n---\n');
    assert.is(blocks.length, 6);
    for (const b of blocks) assert.match(b, /^# .+\n(key|peer) /);
    assert.match(blocks[0]!, /^# short key.*\nkey 00000000000000a1 1 1 2001:db8:1::\/64 [0-9a-f]{62}$/);
    assert.match(blocks[4]!, /\nkey 00000000000000a1 17 1 2001:db8:1::\/64 [0-9a-f]{64}$/);
    assert.match(blocks[5]!, /\nkey 00000000000000b2 1 1 2001:db8:1::\/64 [0-9a-f]{64}\npeer 00000000000000b2 2001:db8:2::\/48$/);

    const packets = hexPackets(readFileSync(join(dir, 'inject-encrypted.hex'), 'utf8'));
    assert.equal(packets.map(([n]) => n), ['valid', 'replay', 'tampered', 'wrong-key', 'truncated-option', 'truncated-header']);
    const last = packets[5]![1];
    assert.equal(parsePacket(last), { ok: false, error: 'BAD_OPTION_TLV' });
    const records = decodeCapture(readPcap(pcap(packets.map(([, p]) => p))), keySourceFromAnalyzerKeys([secrets]));
    assert.is(records.length, 5, 'the packet with the broken header is not parsed');
    assert.equal(records.map((r) => r.error ?? r.decryption), ['ok', 'ok', 'TAG_MISMATCH', 'TAG_MISMATCH', 'BAD_LENGTH']);
    for (const r of records) {
      assert.equal([r.src, r.dst, r.sport, r.dport, r.protocol], ['2001:db8:1::2', '2001:db8:2::2', 4242, 9, 17]);
    }
    assert.equal(records.slice(0, 4).map((r) => (r.option as { psntp: number }).psntp), [1000, 1000, 1000, 1001]);
    assert.is((records[0]!.option as { epoch: number }).epoch, 0x100);
    const expect = JSON.parse(readFileSync(join(dir, 'expect.json'), 'utf8')) as { injected: { tuple: unknown; packets: Array<{ name: string; psntp: number }> } };
    assert.equal(expect.injected.tuple, { src: '2001:db8:1::2', dst: '2001:db8:2::2', sport: 4242, dport: 9, proto: 17 });
    assert.equal(expect.injected.packets.map((p) => p.psntp), [1000, 1000, 1000, 1001, 1002, 1003]);
    // The wrong-key packet opens with the wrong secrets: it really is sealed with another key.
    const withWrong = decodeCapture(readPcap(pcap([packets[3]![1]])), keySourceFromAnalyzerKeys([wrongSecrets]));
    assert.is(withWrong[0]!.decryption, 'ok');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('check-encrypted: trace lines and the epoch rule', () => {
  const line =
    '          iperf3-312     [001] ..s1.   52.123456: pdmv2_emit: fmt=encrypted net=4026532101 src=2001:db8:1::2 sport=40000 dst=2001:db8:2::2 dport=5201 proto=17 epoch=0x1a3 psntp=123 psnlr=0 gp=5 scale_dtlr=0 delta_tlr=0 scale_dtls=14 delta_tls=61035';
  const t = parseTraceLine(line, 'x:1');
  assert.ok(t && typeof t === 'object');
  if (t && typeof t === 'object') {
    assert.equal([t.fmt, t.src, t.sport, t.epoch, t.psntp, t.scaleDtls, t.deltaTls], ['encrypted', '2001:db8:1::2', 40000, 0x1a3, 123, 14, 61035]);
  }
  assert.is(parseTraceLine('  <idle>-0 [000] 1.0: sched_switch: prev=a', 'x:2'), null);
  assert.match(String(parseTraceLine('x: pdmv2_emit: fmt=clear src=::1 dst=::2', 'x:3')), /sport missing/);

  const n = 10;
  const seq = (gen: number, r0: number, p0: number, count: number) =>
    Array.from({ length: count }, (_, i) => ({ psntp: (p0 + i) >>> 0, epoch: (gen << 8) | ((r0 + Math.floor(i / n)) & 0xff) }));
  const good = [...seq(1, 0xfe, 0xfffffff0, 35), ...seq(2, 7, 0x13, 25)];
  assert.ok(checkFlowEpochs(good, n, [1, 2]).ok, checkFlowEpochs(good, n, [1, 2]).detail);
  assert.ok(checkFlowEpochs([...good].reverse(), n, [1, 2]).ok, 'capture order does not matter');
  const early = good.map((o, i) => (i === 9 ? { ...o, epoch: o.epoch + 1 } : o));
  assert.not.ok(checkFlowEpochs(early, n).ok, 'a rekey one PSN early');
  const back = [...seq(1, 0, 100, 20), ...seq(2, 0, 120, 20), ...seq(1, 2, 140, 5)];
  const v = checkFlowEpochs(back, n);
  assert.not.ok(v.ok);
  assert.match(v.problems.join('\n'), /generation nibble 1 again/);
  assert.not.ok(checkFlowEpochs(seq(1, 0, 100, 5), n).ok, 'no rekey at all');
  assert.not.ok(checkFlowEpochs(seq(2, 0, 100, 30), n, [1, 2]).ok, 'generation 1 missing');
});

test('check-encrypted: passes on a consistent artifact directory, fails on a wrong trace', () => {
  const dir = tempDir();
  try {
    execFileSync(process.execPath, [join(here, 'lab', 'encrypted-setup.js'), dir], { stdio: 'pipe' });
    const secrets = parseAnalyzerKeyFile(new Uint8Array(readFileSync(join(dir, 'secrets.json'))));
    const sgs = (g: number) => fromHex(secrets.keys[g - 1]!.sgs!);
    const lan = '2001:db8:1::2';
    const wan = '2001:db8:2::2';
    const flowTuple = (up: boolean): FiveTuple => {
      const c = parseIpv6(lan);
      const s = parseIpv6(wan);
      return up ? { src: c, dst: s, sport: 40000, dport: 5201, protocol: 17 } : { src: s, dst: c, sport: 5201, dport: 40000, protocol: 17 };
    };
    const stk = (g: number, t: FiveTuple, epoch: number) =>
      sessionTemporaryKey(hostSecret(clientPrefixSecret(sgs(g), parsePrefix('2001:db8:1::/64')), parseIpv6(lan)), 1, epoch, t);
    const pkts: Uint8Array[] = [];
    const trace: string[] = ['# tracer: nop'];
    const emit = (up: boolean, g: number, rekey: number, psntp: number, psnlr: number) => {
      const t = flowTuple(up);
      const epoch = (g << 8) | rekey;
      const fields = { epoch, psntp, psnlr, globalPointer: psntp, scaleDtlr: 0, scaleDtls: 0, deltaTlr: 0, deltaTls: 0 };
      pkts.push(udpPacket(t, sealOption(stk(g, t, epoch), 1, fields)));
      trace.push(
        `  ksoftirqd/0-14 [000] ..s1. 9.${psntp}: pdmv2_emit: fmt=encrypted net=4026532101 src=${formatIpv6(t.src)} sport=${t.sport} dst=${formatIpv6(t.dst)} dport=${t.dport} proto=17 epoch=0x${epoch.toString(16)} psntp=${psntp} psnlr=${psnlr} gp=${psntp} scale_dtlr=0 delta_tlr=0 scale_dtls=0 delta_tls=0`,
      );
    };
    // Client: rekey every 4 PSNs, generation 1 (from rekey 9) then 2 (from rekey 200).
    for (let i = 0; i < 12; i++) {
      const psn = 1000 + i;
      emit(true, i < 8 ? 1 : 2, i < 8 ? 9 + Math.floor(i / 4) : 200 + Math.floor((i - 8) / 4), psn, i === 0 ? 0 : 5000 + i - 1);
      emit(false, 1, 30 + Math.floor(i / 3), 5000 + i, psn);
    }
    // The injected tuple is ignored even though it does not open.
    pkts.push(hexPackets(readFileSync(join(dir, 'inject-encrypted.hex'), 'utf8'))[2]![1]);
    writeFileSync(join(dir, 'wan.pcap'), pcap(pkts));
    writeFileSync(join(dir, 'trace-rtr.txt'), `${trace.filter((l) => l.includes('sport=40000')).join('\n')}\n`);
    writeFileSync(join(dir, 'trace-wan.txt'), `${trace.filter((l) => !l.includes('sport=40000')).join('\n')}\n`);
    writeFileSync(join(dir, 'expect-epochs.json'), JSON.stringify({ rekey_packets: 4, flows: [{ src: lan, dport: 5201, generations: [1, 2] }] }));
    // The lab scenario's own shape: one flow, a capture, "protocol".
    writeFileSync(join(dir, 'expect-generation.json'), JSON.stringify({ capture: 'wan.pcap', src: lan, dst: wan, protocol: 17, generations: [1, 2] }));
    writeFileSync(join(dir, 'expect-rekey.json'), JSON.stringify({ rekey_packets: 3, capture: 'wan.pcap', src: wan, dst: lan, protocol: 17 }));
    const script = join(here, 'lab', 'check-encrypted.js');
    const run = () => spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });
    const ok = run();
    assert.is(ok.status, 0, ok.stdout);
    assert.match(ok.stdout, /^ok - encrypted options opened client -> server \(12 options\)$/m);
    assert.match(ok.stdout, /^ok - encrypted options opened server -> client \(12 options\)$/m);
    assert.match(
      ok.stdout,
      /^ok - expect-epochs\.json flows\[0\]: 17 \[2001:db8:1::2\]:40000 > \[2001:db8:2::2\]:5201: epoch advances every 4 PSNs, generations 1 -> 2 \(12 options, generations 1 -> 2, 1 rekeys\)$/m,
    );
    assert.match(ok.stdout, /^ok - expect-generation\.json: 17 \[2001:db8:1::2\]:40000 > \[2001:db8:2::2\]:5201: generations 1 -> 2 /m);
    assert.match(ok.stdout, /^ok - expect-rekey\.json: 17 \[2001:db8:2::2\]:5201 > \[2001:db8:1::2\]:40000: epoch advances every 3 PSNs, generations never go back \(12 options, generations 1, 3 rekeys\)$/m);
    assert.match(ok.stdout, /^\d+ passed, 0 failed$/m);

    // A trace record that differs in one field, and an epoch rule that does not hold.
    const traced = readFileSync(join(dir, 'trace-wan.txt'), 'utf8').replace('psntp=5003 psnlr=1003', 'psntp=5003 psnlr=1004');
    writeFileSync(join(dir, 'trace-wan.txt'), traced);
    writeFileSync(join(dir, 'expect-epochs.json'), JSON.stringify({ rekey_packets: 5, flows: [{ src: lan, dport: 5201 }] }));
    const bad = run();
    assert.is(bad.status, 1, bad.stdout);
    assert.match(bad.stdout, /^not ok - wan\.pcap: every opened option has an identical pdmv2_emit trace record \(23 identical, 0 without a record, 1 differing\)$/m);
    assert.match(bad.stdout, /^# trace differs: .*psnlr 1003 != 1004/m);
    assert.match(bad.stdout, /^not ok - .*epoch advances every 5 PSNs/m);
    assert.match(bad.stdout, /^\d+ passed, 2 failed$/m);

    writeFileSync(join(dir, 'expect-epochs.json'), JSON.stringify({ flows: [{ dport: 1 }] }));
    writeFileSync(join(dir, 'expect-rekey.json'), JSON.stringify({ rekey_packets: 3, capture: 'other.pcap' }));
    const worse = run();
    assert.match(worse.stdout, /^not ok - expect-epochs\.json parses \(expect-epochs\.json flows\[0\]: give rekey_packets or generations/m);
    assert.match(worse.stdout, /^not ok - expect-rekey\.json: selects opened flows \(0 flow directions in other\.pcap\)$/m);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
