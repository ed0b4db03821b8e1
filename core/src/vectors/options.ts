/**
 * Builds and checks test/vectors/pdmv2-options.json: option bytes, malformed
 * inputs, time encodings, header construction, whole-packet insertion and
 * sealed options. Pure, so the same checks run on Node and on QuickJS.
 */
import { fromHex, toHex } from '../util/bytes.js';
import { parseIpv6 } from '../wire/addr.js';
import {
  buildDestOptsHeader,
  buildPacket,
  insertPdmOption,
  NH_DEST_OPTS,
  NH_ICMPV6,
  NH_TCP,
  NH_UDP,
  type PacketError,
} from '../wire/ipv6.js';
import { AEAD_AES_128_GCM, AEAD_AES_256_GCM } from '../keys/schedule.js';
import {
  decodeOption,
  encodeClear,
  encodeDraftClear,
  encodeV1,
  type PdmOption,
  type Pdmv2Clear,
} from '../wire/options.js';
import { openOption, sealOptionTrace } from '../keys/seal.js';
import { decodeAttoseconds, encodeAttoseconds, MAX_ENCODABLE_ATTOSECONDS } from '../time/delta.js';
import { type CheckReport, newReport, expectEqual } from './check-report.js';

type Json = Record<string, unknown>;

/** Snake-case JSON fields, the names used in vectors and by the C harness. */
export function optionToFields(o: PdmOption): Json {
  switch (o.format) {
    case 'pdm-v1':
      return {
        scale_dtlr: o.scaleDtlr,
        scale_dtls: o.scaleDtls,
        psntp: o.psntp,
        psnlr: o.psnlr,
        delta_tlr: o.deltaTlr,
        delta_tls: o.deltaTls,
      };
    case 'pdmv2-clear':
      return {
        version: 2,
        epoch: o.epoch,
        psntp: o.psntp,
        psnlr: o.psnlr,
        global_pointer: o.globalPointer,
        scale_dtlr: o.scaleDtlr,
        scale_dtls: o.scaleDtls,
        delta_tlr: o.deltaTlr,
        delta_tls: o.deltaTls,
      };
    case 'pdmv2-draft-clear':
      return {
        version: 2,
        random: o.random,
        flag: o.flag,
        scale_dtlr: o.scaleDtlr,
        scale_dtls: o.scaleDtls,
        global_pointer: o.globalPointer,
        psntp: o.psntp,
        psnlr: o.psnlr,
        delta_tlr: o.deltaTlr,
        delta_tls: o.deltaTls,
      };
    case 'pdmv2-encrypted':
      return { version: 2, epoch: o.epoch, psntp: o.psntp };
  }
}

const CLEAR_CASES: Array<[string, Omit<Pdmv2Clear, 'format'>]> = [
  ['clear first packet of a flow', { epoch: 0, psntp: 0x5eed1234, psnlr: 0, globalPointer: 1, scaleDtlr: 0, scaleDtls: 0, deltaTlr: 0, deltaTls: 0 }],
  ['clear typical answer', { epoch: 0x103, psntp: 0x00000102, psnlr: 0xa0b0c0d0, globalPointer: 77, scaleDtlr: 24, scaleDtls: 31, deltaTlr: 59605, deltaTls: 40000 }],
  ['clear all fields at maximum', { epoch: 0xfff, psntp: 0xffffffff, psnlr: 0xffffffff, globalPointer: 0xffffffff, scaleDtlr: 255, scaleDtls: 255, deltaTlr: 0xffff, deltaTls: 0xffff }],
];

const V1_CASES: Array<[string, Parameters<typeof encodeV1>[0]]> = [
  ['v1 RFC 8250 first packet', { scaleDtlr: 0, scaleDtls: 0, psntp: 1, psnlr: 0, deltaTlr: 0, deltaTls: 0 }],
  ['v1 RFC 8250 answer', { scaleDtlr: 23, scaleDtls: 30, psntp: 0x1234, psnlr: 0xfffe, deltaTlr: 61035, deltaTls: 12 }],
];

const DRAFT_CASES: Array<[string, Parameters<typeof encodeDraftClear>[0]]> = [
  ['older draft clear form', { random: 0x2aaa, flag: 1, scaleDtlr: 12, scaleDtls: 13, globalPointer: 9, psntp: 0x0102, psnlr: 0x0304, deltaTlr: 5, deltaTls: 6 }],
];

/** Fixed keys: vectors must be reproducible, never secrets of anything real. */
const TEST_KEY_128 = fromHex('000102030405060708090a0b0c0d0e0f');
const TEST_KEY_256 = fromHex('404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f');

const ENCRYPTED_CASES: Array<[string, number, Uint8Array, Omit<Pdmv2Clear, 'format'>]> = [
  ['AES-128-GCM sealed option', AEAD_AES_128_GCM, TEST_KEY_128, CLEAR_CASES[1]![1]],
  ['AES-128-GCM sealed first packet', AEAD_AES_128_GCM, TEST_KEY_128, CLEAR_CASES[0]![1]],
  ['AES-256-GCM sealed option', AEAD_AES_256_GCM, TEST_KEY_256, CLEAR_CASES[2]![1]],
];

function malformedCases(): Array<{ name: string; option: string; strict: boolean; error: string }> {
  const clear = toHex(encodeClear(CLEAR_CASES[1]![1]));
  const draft = toHex(encodeDraftClear(DRAFT_CASES[0]![1]));
  const v1 = toHex(encodeV1(V1_CASES[1]![1]));
  const sealed = toHex(sealOptionTrace(TEST_KEY_128, AEAD_AES_128_GCM, CLEAR_CASES[1]![1]).option);
  const withByte = (hex: string, index: number, value: number): string =>
    hex.slice(0, 2 * index) + toHex(Uint8Array.of(value)) + hex.slice(2 * index + 2);
  return [
    { name: 'empty input', option: '', strict: true, error: 'TRUNCATED' },
    { name: 'type octet only', option: '0f', strict: true, error: 'TRUNCATED' },
    { name: 'clear option cut after 10 data octets', option: clear.slice(0, 24), strict: true, error: 'TRUNCATED' },
    { name: 'v1 option cut by one octet', option: v1.slice(0, v1.length - 2), strict: true, error: 'TRUNCATED' },
    { name: 'encrypted option missing its last tag octet', option: sealed.slice(0, sealed.length - 2), strict: true, error: 'TRUNCATED' },
    { name: 'one octet after the clear option', option: `${clear}00`, strict: true, error: 'TRAILING_DATA' },
    { name: 'option type 0x1e instead of 0x0f', option: withByte(clear, 0, 0x1e), strict: true, error: 'NOT_PDM' },
    { name: 'length 20 (neither clear nor v1)', option: `0f14${'00'.repeat(20)}`, strict: true, error: 'BAD_LENGTH' },
    { name: 'length 0', option: '0f00', strict: true, error: 'BAD_LENGTH' },
    { name: 'length 255', option: `0fff${'00'.repeat(255)}`, strict: true, error: 'BAD_LENGTH' },
    { name: 'clear option with version 1', option: withByte(clear, 2, 0x11), strict: true, error: 'BAD_VERSION' },
    { name: 'encrypted option with version 3', option: withByte(sealed, 2, 0x31), strict: true, error: 'BAD_VERSION' },
    { name: 'older draft form with version 0', option: withByte(draft, 2, 0x00), strict: true, error: 'BAD_VERSION' },
    { name: 'clear option with reserved bits set', option: withByte(clear, 19, 0x01), strict: true, error: 'RESERVED_NONZERO' },
    { name: 'older draft form with reserved bits set', option: withByte(draft, 3, 0x80), strict: true, error: 'RESERVED_NONZERO' },
  ];
}

const ATTOSECONDS_PER_NS = 1_000_000_000n;

function timeCases(): Array<[string, bigint]> {
  return [
    ['zero', 0n],
    ['1 attosecond', 1n],
    ['largest exact value 65535 as', 65535n],
    ['65536 as, first scaled value', 65536n],
    ['rounding carries into the next scale', 131071n],
    ['1 ns', 1n * ATTOSECONDS_PER_NS],
    ['1 us', 1_000n * ATTOSECONDS_PER_NS],
    ['1 ms', 1_000_000n * ATTOSECONDS_PER_NS],
    ['123.456789 ms', 123_456_789n * ATTOSECONDS_PER_NS],
    ['1 s', 1_000_000_000n * ATTOSECONDS_PER_NS],
    ['1 h', 3_600_000_000_000n * ATTOSECONDS_PER_NS],
    ['1 day', 86_400_000_000_000n * ATTOSECONDS_PER_NS],
    ['u64 max nanoseconds', 0xffffffffffffffffn * ATTOSECONDS_PER_NS],
    ['largest encodable value', MAX_ENCODABLE_ATTOSECONDS],
    ['rounds above the largest encodable value: saturates', MAX_ENCODABLE_ATTOSECONDS + (1n << 254n)],
    ['far above the largest encodable value: saturates', MAX_ENCODABLE_ATTOSECONDS << 3n],
  ];
}

function ipv6Packet(nextHeader: number, payload: Uint8Array): Uint8Array {
  return buildPacket(parseIpv6('2001:db8:1::10'), parseIpv6('2001:db8:2::20'), nextHeader, payload);
}

function udpPayload(): Uint8Array {
  // sport 40000, dport 5201, length 12, checksum left as in the original packet (insertion never touches it).
  return fromHex('9c401451000c1234deadbeef');
}

function packetCases(): Array<{ name: string; packet: Uint8Array; option: Uint8Array; error?: PacketError }> {
  const clear = encodeClear(CLEAR_CASES[1]![1]);
  const v1 = encodeV1(V1_CASES[1]![1]);
  const sealed = sealOptionTrace(TEST_KEY_128, AEAD_AES_128_GCM, CLEAR_CASES[1]![1]).option;
  const tcp = fromHex('9c400050000000010000000050022000abcd0000');
  const echo = fromHex('80001f2a04d20001' + '61626364');
  const hopByHop = fromHex('11000104' + '00000000'); // next: UDP, PadN(4)
  const routing = fromHex('1100fd00' + '00000000'); // next: UDP, type 253 (experimental), segments left 0
  const atomicFragment = fromHex('1100000012345678'); // next: UDP, offset 0, M = 0
  const firstFragment = fromHex('1100000112345678'); // M = 1
  const existingDestOpts = fromHex('11001e0201020000'); // next: UDP, option 0x1e len 2, Pad1, Pad1
  const udp = udpPayload();
  const cases: Array<{ name: string; packet: Uint8Array; option: Uint8Array; error?: PacketError }> = [
    { name: 'UDP, clear option, new header', packet: ipv6Packet(NH_UDP, udp), option: clear },
    { name: 'UDP, v1 option, new header', packet: ipv6Packet(NH_UDP, udp), option: v1 },
    { name: 'UDP, encrypted option, new header', packet: ipv6Packet(NH_UDP, udp), option: sealed },
    { name: 'TCP, clear option', packet: ipv6Packet(NH_TCP, tcp), option: clear },
    { name: 'ICMPv6 echo request, clear option', packet: ipv6Packet(NH_ICMPV6, echo), option: clear },
    { name: 'behind Hop-by-Hop', packet: ipv6Packet(0, Uint8Array.from([...hopByHop, ...udp])), option: clear },
    { name: 'behind a Routing header', packet: ipv6Packet(43, Uint8Array.from([...routing, ...udp])), option: clear },
    { name: 'behind an atomic fragment header', packet: ipv6Packet(44, Uint8Array.from([...atomicFragment, ...udp])), option: clear },
    { name: 'appended to an existing Destination Options header', packet: ipv6Packet(NH_DEST_OPTS, Uint8Array.from([...existingDestOpts, ...udp])), option: clear },
    { name: 'v1 appended to an existing Destination Options header', packet: ipv6Packet(NH_DEST_OPTS, Uint8Array.from([...existingDestOpts, ...udp])), option: v1 },
    { name: 'first fragment of several: refused', packet: ipv6Packet(44, Uint8Array.from([...firstFragment, ...udp])), option: clear, error: 'FRAGMENT' },
    { name: 'ESP: refused', packet: ipv6Packet(50, fromHex('0000000100000001aabbccdd')), option: clear, error: 'ESP' },
    { name: 'AH: refused', packet: ipv6Packet(51, Uint8Array.from([0x11, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, ...udp])), option: clear, error: 'AH' },
    { name: 'payload length larger than the packet', packet: ipv6Packet(NH_UDP, udp).slice(0, 50), option: clear, error: 'BAD_PAYLOAD_LENGTH' },
    { name: 'shorter than an IPv6 header', packet: ipv6Packet(NH_UDP, udp).slice(0, 39), option: clear, error: 'TRUNCATED' },
  ];
  const once = insertPdmOption(ipv6Packet(NH_UDP, udp), clear);
  if (once.ok) cases.push({ name: 'already carries a PDM option: refused', packet: once.value, option: clear, error: 'ALREADY_PRESENT' });
  return cases;
}

function headerCases(): Array<{ name: string; existing: Uint8Array | null; nextHeader: number; option: Uint8Array }> {
  const clear = encodeClear(CLEAR_CASES[1]![1]);
  const v1 = encodeV1(V1_CASES[1]![1]);
  const sealed = sealOptionTrace(TEST_KEY_128, AEAD_AES_128_GCM, CLEAR_CASES[1]![1]).option;
  const padOnly = fromHex('3a00010400000000');
  const otherOption = fromHex('11001e0201020000');
  const pad1s = fromHex('06011e0401020304' + '0000000000000000'); // option 0x1e, then eight Pad1
  return [
    { name: 'new header, clear', existing: null, nextHeader: NH_UDP, option: clear },
    { name: 'new header, encrypted', existing: null, nextHeader: NH_TCP, option: sealed },
    { name: 'new header, v1', existing: null, nextHeader: NH_ICMPV6, option: v1 },
    { name: 'existing header of padding only, clear', existing: padOnly, nextHeader: 0, option: clear },
    { name: 'existing header with another option, clear', existing: otherOption, nextHeader: 0, option: clear },
    { name: 'existing header with another option, encrypted', existing: otherOption, nextHeader: 0, option: sealed },
    { name: 'existing header with another option, v1', existing: otherOption, nextHeader: 0, option: v1 },
    { name: 'existing header ending in Pad1 octets, clear', existing: pad1s, nextHeader: 0, option: clear },
  ];
}

export function buildOptionVectors(): Json {
  const options: Json[] = [];
  for (const [name, f] of CLEAR_CASES) options.push(optionEntry(name, encodeClear(f)));
  for (const [name, f] of V1_CASES) options.push(optionEntry(name, encodeV1(f)));
  for (const [name, f] of DRAFT_CASES) options.push(optionEntry(name, encodeDraftClear(f)));
  for (const [name, aead, key, f] of ENCRYPTED_CASES) options.push(optionEntry(name, sealOptionTrace(key, aead, f).option));

  const time = timeCases().map(([name, as]) => {
    const e = encodeAttoseconds(as);
    const ns = as % ATTOSECONDS_PER_NS === 0n && as / ATTOSECONDS_PER_NS <= 0xffffffffffffffffn ? (as / ATTOSECONDS_PER_NS).toString() : null;
    return { name, attoseconds: as.toString(), nanoseconds: ns, delta: e.delta, scale: e.scale, decoded_attoseconds: decodeAttoseconds(e).toString() };
  });

  const headers = headerCases().map((c) => {
    const r = buildDestOptsHeader(c.existing, c.nextHeader, c.option);
    if (!r.ok) throw new Error(`header vector '${c.name}' failed: ${r.error}`);
    return { name: c.name, existing: c.existing ? toHex(c.existing) : null, next_header: c.nextHeader, option: toHex(c.option), result: toHex(r.value) };
  });

  const packets = packetCases().map((c) => {
    const r = insertPdmOption(c.packet, c.option);
    const entry: Json = { name: c.name, packet: toHex(c.packet), option: toHex(c.option) };
    if (c.error) {
      if (r.ok || r.error !== c.error) throw new Error(`packet vector '${c.name}' expected ${c.error}`);
      entry.error = c.error;
    } else {
      if (!r.ok) throw new Error(`packet vector '${c.name}' failed: ${r.error}`);
      entry.result = toHex(r.value);
    }
    return entry;
  });

  const encrypted = ENCRYPTED_CASES.map(([name, aead, key, f]) => {
    const t = sealOptionTrace(key, aead, f);
    return {
      name,
      aead_id: aead,
      key: toHex(key),
      fields: optionToFields({ format: 'pdmv2-clear', ...f }),
      nonce: toHex(t.nonce),
      aad: toHex(t.aad),
      plaintext: toHex(t.plaintext),
      ciphertext: toHex(t.ciphertext),
      tag: toHex(t.tag),
      option: toHex(t.option),
    };
  });
  const first = encrypted[0]!;
  const flip = (hex: string, index: number): string =>
    hex.slice(0, 2 * index) + toHex(Uint8Array.of(fromHex(hex.slice(2 * index, 2 * index + 2))[0]! ^ 0x01)) + hex.slice(2 * index + 2);
  const encryptedFailures = [
    { name: 'ciphertext bit flipped', aead_id: first.aead_id, key: first.key, option: flip(first.option, 10), error: 'TAG_MISMATCH' },
    { name: 'tag bit flipped', aead_id: first.aead_id, key: first.key, option: flip(first.option, 30), error: 'TAG_MISMATCH' },
    { name: 'PSNTP (AAD) bit flipped', aead_id: first.aead_id, key: first.key, option: flip(first.option, 7), error: 'TAG_MISMATCH' },
    { name: 'epoch (nonce and AAD) bit flipped', aead_id: first.aead_id, key: first.key, option: flip(first.option, 3), error: 'TAG_MISMATCH' },
    { name: 'wrong key', aead_id: first.aead_id, key: toHex(TEST_KEY_256.subarray(0, 16)), option: first.option, error: 'TAG_MISMATCH' },
    { name: 'truncated encrypted option', aead_id: first.aead_id, key: first.key, option: first.option.slice(0, 70), error: 'TRUNCATED' },
  ];

  return {
    description:
      'pdmv2 option vectors, generated by the TypeScript core (npm run vectors). See docs/PROTOCOL.md. Keys here are test values.',
    version: 1,
    options,
    malformed: malformedCases(),
    time,
    headers,
    packets,
    encrypted,
    encrypted_failures: encryptedFailures,
  };
}

function optionEntry(name: string, bytes: Uint8Array): Json {
  const d = decodeOption(bytes);
  if (!d.ok) throw new Error(`option vector '${name}' does not decode: ${d.error}`);
  return { name, format: d.value.format, fields: optionToFields(d.value), option: toHex(bytes) };
}

function str(v: unknown): string {
  if (typeof v !== 'string') throw new TypeError('expected a string');
  return v;
}

/**
 * Semantic checks of a vectors file, independent of how it was generated:
 * decode every option, reject every malformed one, re-encode times, rebuild
 * headers and packets, open every sealed option.
 */
export function checkOptionVectors(file: unknown): CheckReport {
  const report = newReport();
  const v = file as Json;
  for (const e of (v.options as Json[]) ?? []) {
    report.run(`option: ${String(e.name)}`, () => {
      const bytes = fromHex(str(e.option));
      const d = decodeOption(bytes);
      if (!d.ok) throw new Error(`decode failed: ${d.error}`);
      expectEqual(d.value.format, e.format, 'format');
      expectEqual(JSON.stringify(optionToFields(d.value)), JSON.stringify(e.fields), 'fields');
      let again: Uint8Array | null = null;
      if (d.value.format === 'pdmv2-clear') again = encodeClear(d.value);
      if (d.value.format === 'pdm-v1') again = encodeV1(d.value);
      if (d.value.format === 'pdmv2-draft-clear') again = encodeDraftClear(d.value);
      if (again) expectEqual(toHex(again), e.option, 're-encoded bytes');
    });
  }
  for (const e of (v.malformed as Json[]) ?? []) {
    report.run(`malformed: ${String(e.name)}`, () => {
      const d = decodeOption(fromHex(str(e.option)), { allowReserved: e.strict === false });
      if (d.ok) throw new Error('decoded although malformed');
      expectEqual(d.error, e.error, 'error');
    });
  }
  for (const e of (v.time as Json[]) ?? []) {
    report.run(`time: ${String(e.name)}`, () => {
      const enc = encodeAttoseconds(BigInt(str(e.attoseconds)));
      expectEqual(enc.delta, e.delta, 'delta');
      expectEqual(enc.scale, e.scale, 'scale');
      expectEqual(decodeAttoseconds(enc).toString(), e.decoded_attoseconds, 'decoded');
    });
  }
  for (const e of (v.headers as Json[]) ?? []) {
    report.run(`header: ${String(e.name)}`, () => {
      const r = buildDestOptsHeader(e.existing === null ? null : fromHex(str(e.existing)), e.next_header as number, fromHex(str(e.option)));
      if (!r.ok) throw new Error(`failed: ${r.error}`);
      expectEqual(toHex(r.value), e.result, 'header bytes');
    });
  }
  for (const e of (v.packets as Json[]) ?? []) {
    report.run(`packet: ${String(e.name)}`, () => {
      const r = insertPdmOption(fromHex(str(e.packet)), fromHex(str(e.option)));
      if (e.error !== undefined) {
        if (r.ok) throw new Error(`expected ${String(e.error)}, got a packet`);
        expectEqual(r.error, e.error, 'error');
      } else {
        if (!r.ok) throw new Error(`failed: ${r.error}`);
        expectEqual(toHex(r.value), e.result, 'packet bytes');
      }
    });
  }
  for (const e of (v.encrypted as Json[]) ?? []) {
    report.run(`encrypted: ${String(e.name)}`, () => {
      const key = fromHex(str(e.key));
      const opened = openOption(key, e.aead_id as number, fromHex(str(e.option)));
      if (!opened.ok) throw new Error(`open failed: ${opened.error}`);
      expectEqual(JSON.stringify(optionToFields(opened.value)), JSON.stringify(e.fields), 'fields');
      const t = sealOptionTrace(key, e.aead_id as number, opened.value);
      expectEqual(toHex(t.nonce), e.nonce, 'nonce');
      expectEqual(toHex(t.aad), e.aad, 'aad');
      expectEqual(toHex(t.plaintext), e.plaintext, 'plaintext');
      expectEqual(toHex(t.ciphertext), e.ciphertext, 'ciphertext');
      expectEqual(toHex(t.tag), e.tag, 'tag');
      expectEqual(toHex(t.option), e.option, 'option');
    });
  }
  for (const e of (v.encrypted_failures as Json[]) ?? []) {
    report.run(`encrypted failure: ${String(e.name)}`, () => {
      const r = openOption(fromHex(str(e.key)), e.aead_id as number, fromHex(str(e.option)));
      if (r.ok) throw new Error('opened although it must fail');
      expectEqual(r.error, e.error, 'error');
    });
  }
  return report;
}
