/// <reference types="node" />
// IPv6 packet view and PDM option placement (docs/PROTOCOL.md §2): chain
// walking, 5-tuples, insertion invariants (payload length, next-header chain,
// alignment, padding), refusals, input immutability and a garbage fuzz.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomInt } from 'node:crypto';
import { fromHex, toHex } from '../core/src/util/bytes.js';
import { parseIpv6 } from '../core/src/wire/addr.js';
import {
  alignmentFor,
  buildDestOptsHeader,
  findPdmOption,
  insertPdmOption,
  parsePacket,
  NH_AH,
  NH_DEST_OPTS,
  NH_ESP,
  NH_FRAGMENT,
  NH_HOP_BY_HOP,
  NH_ICMPV6,
  NH_NONE,
  NH_ROUTING,
  NH_TCP,
  NH_UDP,
  type PacketError,
  type PacketResult,
  type PacketView,
} from '../core/src/wire/ipv6.js';
import { decodeOption, encodeClear, encodeEncrypted, encodeV1 } from '../core/src/wire/options.js';

const PACKET_ERRORS: readonly PacketError[] = [
  'TRUNCATED',
  'NOT_IPV6',
  'BAD_PAYLOAD_LENGTH',
  'JUMBOGRAM',
  'BAD_OPTION_TLV',
  'ESP',
  'AH',
  'FRAGMENT',
  'ALREADY_PRESENT',
  'HEADER_TOO_LONG',
];

const SRC = parseIpv6('2001:db8:1::10');
const DST = parseIpv6('2001:db8:2::20');

// ---------------------------------------------------------------- builders

function ipv6Packet(nextHeader: number, payload: Uint8Array | number[]): Uint8Array {
  const body = Uint8Array.from(payload);
  const p = new Uint8Array(40 + body.length);
  p[0] = 0x60;
  p[1] = 0x0a; // traffic class / flow label bits, to check they survive
  p[2] = 0xbc;
  p[3] = 0xde;
  p[4] = body.length >> 8;
  p[5] = body.length & 0xff;
  p[6] = nextHeader;
  p[7] = 64;
  p.set(SRC, 8);
  p.set(DST, 24);
  p.set(body, 40);
  return p;
}

/** An options header (HBH or Destination Options) with the given TLVs, padded with PadN/Pad1 to 8n. */
function optionsHeader(next: number, tlvs: number[]): number[] {
  const h = [next, 0, ...tlvs];
  const pad = (8 - (h.length % 8)) % 8;
  if (pad === 1) h.push(0);
  else if (pad > 1) h.push(1, pad - 2, ...new Array<number>(pad - 2).fill(0));
  h[1] = h.length / 8 - 1;
  return h;
}

const routing = (next: number): number[] => [next, 0, 253, 0, 0, 0, 0, 0];
/** A type-3 (RPL source route) header of 24 octets, to test Hdr Ext Len > 0. */
const routingLong = (next: number): number[] => [next, 2, 3, 0, 0, 0, 0, 0, ...new Array<number>(16).fill(0xaa)];
const fragment = (next: number, offset: number, more: boolean): number[] => [next, 0, (offset >> 5) & 0xff, ((offset << 3) & 0xf8) | (more ? 1 : 0), 0x12, 0x34, 0x56, 0x78];
/** AH with a 12-octet ICV: (2 + 3 + 1) × 4 = 24 octets, Payload Len = 24/4 − 2 = 4. */
const ah = (next: number): number[] => [next, 4, 0, 0, 0, 0, 1, 0, 0, 0, 0, 9, ...new Array<number>(12).fill(0xcc)];
const esp = (): number[] => [0, 0, 1, 0, 0, 0, 0, 1, 0xde, 0xad, 0xbe, 0xef, 0x11, 0x22, 0x33, 0x44];
const udp = (sport = 40000, dport = 5201): number[] => [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 12, 0x12, 0x34, 0xde, 0xad, 0xbe, 0xef];
const tcp = (sport = 51000, dport = 443): number[] => [sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x20, 0x00, 0xab, 0xcd, 0, 0];
const icmp = (type: number, id = 0x1f2a): number[] => [type, 0, 0x11, 0x22, id >> 8, id & 0xff, 0, 1, 0x61, 0x62, 0x63, 0x64];

const CLEAR = encodeClear({ epoch: 0x103, psntp: 0x102, psnlr: 0xa0b0c0d0, globalPointer: 77, scaleDtlr: 24, scaleDtls: 31, deltaTlr: 59605, deltaTls: 40000 });
const V1 = encodeV1({ scaleDtlr: 23, scaleDtls: 30, psntp: 0x1234, psnlr: 0xfffe, deltaTlr: 61035, deltaTls: 12 });
const SEALED = encodeEncrypted(0x101, 0xdeadbeef, Uint8Array.from({ length: 16 }, (_, i) => 0x80 + i), Uint8Array.from({ length: 12 }, (_, i) => 0xf0 + i));
const OPTIONS: Array<[string, Uint8Array]> = [
  ['clear', CLEAR],
  ['encrypted', SEALED],
  ['v1', V1],
];

function view(packet: Uint8Array): PacketView {
  const r = parsePacket(packet);
  if (!r.ok) throw new Error(`parsePacket failed: ${r.error}`);
  return r.value;
}

function expectError<T>(r: PacketResult<T>, code: PacketError, what = ''): void {
  if (r.ok) throw new Error(`${what}: expected ${code}, got a result`);
  assert.is(r.error, code, what);
}

// ---------------------------------------------------------------- independent TLV walk

interface Tlv {
  type: number;
  offset: number;
  size: number;
}

/** Walk an options header's TLVs (independently of the module); throws if malformed. */
function walkTlvs(h: Uint8Array): Tlv[] {
  if (h.length % 8 !== 0 || h.length !== (h[1]! + 1) * 8) throw new Error(`header length ${h.length} vs Hdr Ext Len ${h[1]}`);
  const out: Tlv[] = [];
  let off = 2;
  while (off < h.length) {
    if (h[off] === 0) {
      out.push({ type: 0, offset: off, size: 1 });
      off++;
      continue;
    }
    if (off + 2 > h.length) throw new Error('TLV header past the end');
    const size = 2 + h[off + 1]!;
    if (off + size > h.length) throw new Error('TLV past the end');
    out.push({ type: h[off]!, offset: off, size });
    off += size;
  }
  return out;
}

const isPad = (t: Tlv): boolean => t.type === 0 || t.type === 1;

function checkPadding(h: Uint8Array, t: Tlv): void {
  if (t.type === 0) return;
  assert.is(t.type, 1);
  assert.ok(t.size >= 2, 'PadN');
  for (let i = t.offset + 2; i < t.offset + t.size; i++) assert.is(h[i], 0, `PadN data octet ${i} is zero`);
}

/**
 * Check everything PROTOCOL.md §2 promises about `out = insertPdmOption(input, option)`.
 */
function checkInsertion(input: Uint8Array, option: Uint8Array, out: Uint8Array): void {
  const before = view(input);
  const after = view(out);
  // Fixed header: only the payload length changes.
  assert.is((out[4]! << 8) | out[5]!, out.length - 40, 'payload length');
  assert.equal(out.subarray(0, 4), input.subarray(0, 4), 'version/class/flow label');
  assert.equal(out.subarray(7, 40), input.subarray(7, 40), 'hop limit and addresses');
  // Headers: the same chain, with the final Destination Options header added or grown.
  const finalExisted = before.finalDestOpts >= 0;
  const typesBefore = before.headers.map((h) => h.type);
  const typesAfter = after.headers.map((h) => h.type);
  assert.equal(typesAfter, finalExisted ? typesBefore : [...typesBefore, NH_DEST_OPTS], 'header chain');
  assert.is(after.finalDestOpts, after.headers.length - 1, 'the PDM header is the last before the upper layer');
  assert.is(after.upperProtocol, before.upperProtocol, 'upper-layer protocol');
  // Next Header fields: each header names the next one.
  let nh = out[6]!;
  for (const h of after.headers) {
    assert.is(nh, h.type, `next header before offset ${h.offset}`);
    nh = out[h.offset]!;
  }
  assert.is(nh, before.upperProtocol, 'last next header is the upper layer');
  // Upper layer octets untouched.
  assert.equal(out.subarray(after.upperOffset), input.subarray(before.upperOffset), 'upper layer unchanged');
  assert.equal(after.fiveTuple, before.fiveTuple, '5-tuple unchanged');
  // Headers before the Destination Options header: unchanged except their Next Header octet.
  const dest = after.headers[after.finalDestOpts]!;
  const prefixIn = input.slice(40, dest.offset);
  const prefixOut = out.slice(40, dest.offset);
  const prev = after.headers[after.finalDestOpts - 1];
  if (prev) {
    prefixIn[prev.offset - 40] = 0;
    prefixOut[prev.offset - 40] = 0;
  }
  assert.equal(prefixOut, prefixIn, 'earlier extension headers unchanged');
  // The Destination Options header.
  const h = out.subarray(dest.offset, dest.offset + dest.length);
  assert.is(h.length % 8, 0, 'header is a multiple of 8 octets');
  assert.is(h.length, (h[1]! + 1) * 8, 'Hdr Ext Len');
  const tlvs = walkTlvs(h);
  const pdmTlvs = tlvs.filter((t) => t.type === 0x0f);
  assert.is(pdmTlvs.length, 1, 'exactly one PDM option');
  const pdm = pdmTlvs[0]!;
  assert.equal(h.slice(pdm.offset, pdm.offset + pdm.size), option, 'option octets');
  assert.is(pdm.offset % 8, option[1] === 10 ? 2 : 4, 'alignment of the option within the header');
  // Earlier non-padding options kept in order, in identical octets.
  const oldHeader = finalExisted ? input.subarray(before.headers[before.finalDestOpts]!.offset, before.headers[before.finalDestOpts]!.offset + before.headers[before.finalDestOpts]!.length) : null;
  let keptEnd = 2;
  if (oldHeader) {
    const oldTlvs = walkTlvs(oldHeader);
    const lastReal = oldTlvs.filter((t) => !isPad(t)).pop();
    keptEnd = lastReal ? lastReal.offset + lastReal.size : 2;
    assert.equal(h.slice(2, keptEnd), oldHeader.slice(2, keptEnd), 'existing options and inner padding kept');
    assert.is(h[0], oldHeader[0], 'existing Next Header kept');
  } else {
    assert.is(h[0], before.upperProtocol, 'new header names the upper layer');
  }
  // Padding added before and after: at most one pad TLV each side, Pad1 for 1 octet, PadN otherwise, < 8 octets.
  const gapBefore = tlvs.filter((t) => t.offset >= keptEnd && t.offset < pdm.offset);
  const gapAfter = tlvs.filter((t) => t.offset > pdm.offset);
  for (const gap of [gapBefore, gapAfter]) {
    assert.ok(gap.length <= 1, 'at most one padding option per gap');
    for (const t of gap) {
      assert.ok(isPad(t), 'only padding around the option');
      assert.ok(t.size < 8, 'minimal padding');
      if (t.size === 1) assert.is(t.type, 0, 'one octet: Pad1');
      else assert.is(t.type, 1, 'two or more octets: PadN');
      checkPadding(h, t);
    }
  }
  assert.is(pdm.offset - keptEnd, gapBefore.reduce((n, t) => n + t.size, 0), 'no hole before the option');
  // The option can be found and decoded again.
  const found = findPdmOption(out);
  assert.ok(found.ok);
  if (found.ok) {
    assert.ok(found.value, 'found');
    assert.equal(found.value, option);
    assert.ok(decodeOption(found.value!).ok, 'found option decodes');
  }
  assert.equal(after.pdm, { offset: dest.offset + pdm.offset, length: option.length });
  assert.is(out.length, input.length + h.length - (oldHeader ? oldHeader.length : 0), 'packet grew by the header growth');
}

function insertAndCheck(packet: Uint8Array, option: Uint8Array, what: string): Uint8Array {
  const copy = packet.slice();
  const optCopy = option.slice();
  const r = insertPdmOption(packet, option);
  if (!r.ok) throw new Error(`${what}: insertion failed with ${r.error}`);
  assert.equal(packet, copy, `${what}: input packet not modified`);
  assert.equal(option, optCopy, `${what}: option not modified`);
  try {
    checkInsertion(packet, option, r.value);
  } catch (err) {
    throw new Error(`${what}: ${err instanceof Error ? err.message : String(err)}`);
  }
  return r.value;
}

/** Chains that accept the option, each ending with a UDP payload. */
function acceptingChains(): Array<[string, Uint8Array]> {
  const dest = optionsHeader(NH_UDP, [0x1e, 2, 0xaa, 0xbb]);
  return [
    ['bare UDP', ipv6Packet(NH_UDP, udp())],
    ['bare TCP', ipv6Packet(NH_TCP, tcp())],
    ['ICMPv6 echo', ipv6Packet(NH_ICMPV6, icmp(128))],
    ['No Next Header', ipv6Packet(NH_NONE, [])],
    ['HBH', ipv6Packet(NH_HOP_BY_HOP, [...optionsHeader(NH_UDP, [0x05, 2, 0, 0]), ...udp()])],
    ['Routing', ipv6Packet(NH_ROUTING, [...routing(NH_UDP), ...udp()])],
    ['long Routing', ipv6Packet(NH_ROUTING, [...routingLong(NH_UDP), ...udp()])],
    ['atomic fragment', ipv6Packet(NH_FRAGMENT, [...fragment(NH_UDP, 0, false), ...udp()])],
    ['HBH, Routing, atomic fragment', ipv6Packet(NH_HOP_BY_HOP, [...optionsHeader(NH_ROUTING, []), ...routing(NH_FRAGMENT), ...fragment(NH_UDP, 0, false), ...udp()])],
    ['first Destination Options before Routing', ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_ROUTING, [0x1e, 0]), ...routing(NH_UDP), ...udp()])],
    ['existing final Destination Options', ipv6Packet(NH_DEST_OPTS, [...dest, ...udp()])],
    ['existing final Destination Options of padding only', ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_UDP, []), ...udp()])],
    ['existing final Destination Options ending in Pad1s', ipv6Packet(NH_DEST_OPTS, [NH_UDP, 1, 0x1e, 3, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...udp()])],
    ['existing empty option ending at 4, then Pad1s', ipv6Packet(NH_DEST_OPTS, [NH_UDP, 1, 0x1e, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ...udp()])],
    ['existing option with inner PadN', ipv6Packet(NH_DEST_OPTS, [NH_UDP, 1, 1, 1, 0, 0x1e, 1, 7, 0, 0, 0, 0, 0, 0, 0, 0, ...udp()])],
    ['HBH, Dest, Routing, Fragment, Dest', ipv6Packet(NH_HOP_BY_HOP, [...optionsHeader(NH_DEST_OPTS, []), ...optionsHeader(NH_ROUTING, [0x1e, 1, 9]), ...routing(NH_FRAGMENT), ...fragment(NH_DEST_OPTS, 0, false), ...dest, ...udp()])],
  ];
}

// ---------------------------------------------------------------- chain walking

test('chain walking: HBH, Dest, Routing, atomic Fragment, final Dest, UDP', () => {
  const chain = [
    ...optionsHeader(NH_DEST_OPTS, [0x05, 2, 0, 0]), // HBH, 8
    ...optionsHeader(NH_ROUTING, [0x1e, 10, ...new Array<number>(10).fill(1)]), // Dest, 16
    ...routingLong(NH_FRAGMENT), // 24
    ...fragment(NH_DEST_OPTS, 0, false), // 8
    ...optionsHeader(NH_UDP, [0x1e, 2, 1, 2]), // 8
  ];
  const p = ipv6Packet(NH_HOP_BY_HOP, [...chain, ...udp()]);
  const v = view(p);
  assert.equal(
    v.headers.map((h) => [h.type, h.offset, h.length]),
    [
      [NH_HOP_BY_HOP, 40, 8],
      [NH_DEST_OPTS, 48, 16],
      [NH_ROUTING, 64, 24],
      [NH_FRAGMENT, 88, 8],
      [NH_DEST_OPTS, 96, 8],
    ],
  );
  assert.is(v.upperProtocol, NH_UDP);
  assert.is(v.upperOffset, 104);
  assert.is(v.finalDestOpts, 4);
  assert.is(v.atomicFragment, true);
  assert.is(v.nonFirstFragment, false);
  assert.is(v.pdm, null);
  assert.equal(v.fiveTuple, { src: SRC, dst: DST, sport: 40000, dport: 5201, protocol: NH_UDP });
});

test('chain walking: Destination Options followed by Routing is not the final one', () => {
  const v = view(ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_ROUTING, []), ...routing(NH_UDP), ...udp()]));
  assert.equal(v.headers.map((h) => h.type), [NH_DEST_OPTS, NH_ROUTING]);
  assert.is(v.finalDestOpts, -1);
  assert.is(v.upperOffset, 56);
});

test('chain walking: first fragment (offset 0, M = 1) shows the upper layer', () => {
  const v = view(ipv6Packet(NH_FRAGMENT, [...fragment(NH_UDP, 0, true), ...udp()]));
  assert.equal(v.headers.map((h) => [h.type, h.offset, h.length]), [[NH_FRAGMENT, 40, 8]]);
  assert.is(v.atomicFragment, false);
  assert.is(v.nonFirstFragment, false);
  assert.is(v.upperProtocol, NH_UDP);
  assert.is(v.upperOffset, 48);
  assert.equal(v.fiveTuple?.sport, 40000);
});

test('chain walking: non-first fragment stops the walk; no 5-tuple', () => {
  for (const more of [false, true]) {
    // Behind the fragment header come octets that would look like a Destination Options header.
    const v = view(ipv6Packet(NH_FRAGMENT, [...fragment(NH_DEST_OPTS, 185, more), ...optionsHeader(NH_UDP, []), ...udp()]));
    assert.equal(v.headers.map((h) => h.type), [NH_FRAGMENT]);
    assert.is(v.nonFirstFragment, true);
    assert.is(v.atomicFragment, false);
    assert.is(v.upperProtocol, NH_DEST_OPTS, 'the fragment header names the next header of the original packet');
    assert.is(v.upperOffset, 48);
    assert.is(v.finalDestOpts, -1);
    assert.is(v.fiveTuple, null);
  }
  // Fragment offset field: 13 bits at the top of octets 2..3.
  const p = ipv6Packet(NH_FRAGMENT, [...fragment(NH_UDP, 1, false), ...udp()]);
  assert.is(p[43], 0x08);
  assert.is(view(p).nonFirstFragment, true);
});

test('chain walking: AH length is (Payload Len + 2) × 4 and the chain continues', () => {
  const v = view(ipv6Packet(NH_AH, [...ah(NH_DEST_OPTS), ...optionsHeader(NH_TCP, []), ...tcp()]));
  assert.equal(v.headers.map((h) => [h.type, h.offset, h.length]), [
    [NH_AH, 40, 24],
    [NH_DEST_OPTS, 64, 8],
  ]);
  assert.is(v.upperProtocol, NH_TCP);
  assert.is(v.finalDestOpts, 1);
  assert.equal(v.fiveTuple, { src: SRC, dst: DST, sport: 51000, dport: 443, protocol: NH_TCP });
});

test('chain walking: ESP ends the visible chain; no 5-tuple', () => {
  const v = view(ipv6Packet(NH_HOP_BY_HOP, [...optionsHeader(NH_ESP, []), ...esp()]));
  assert.equal(v.headers.map((h) => h.type), [NH_HOP_BY_HOP]);
  assert.is(v.upperProtocol, NH_ESP);
  assert.is(v.upperOffset, 48);
  assert.is(v.fiveTuple, null);
  const v2 = view(ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_ESP, []), ...esp()]));
  assert.is(v2.upperProtocol, NH_ESP);
  assert.is(v2.fiveTuple, null);
});

test('chain walking: No Next Header (59) has no 5-tuple', () => {
  const v = view(ipv6Packet(NH_NONE, []));
  assert.equal(v.headers, []);
  assert.is(v.upperProtocol, NH_NONE);
  assert.is(v.fiveTuple, null);
});

test('chain walking: existing PDM option in a Destination Options header is located', () => {
  const p = ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_UDP, [0x1e, 2, 7, 7, ...CLEAR]), ...udp()]);
  const v = view(p);
  assert.equal(v.pdm, { offset: 40 + 6, length: 24 });
  const f = findPdmOption(p);
  assert.ok(f.ok && f.value);
  if (f.ok) assert.equal(f.value, CLEAR);
  // Also in the first Destination Options header (before Routing).
  const p2 = ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_ROUTING, [...V1]), ...routing(NH_UDP), ...udp()]);
  assert.equal(view(p2).pdm, { offset: 42, length: 12 });
  // Not found: none, or a PDM-typed option in Hop-by-Hop (wrong place).
  assert.equal(findPdmOption(ipv6Packet(NH_UDP, udp())), { ok: true, value: null });
  assert.equal(findPdmOption(ipv6Packet(NH_HOP_BY_HOP, [...optionsHeader(NH_UDP, [...CLEAR]), ...udp()])), { ok: true, value: null });
});

test('findPdmOption returns a copy', () => {
  const p = ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_UDP, [...CLEAR]), ...udp()]);
  const f = findPdmOption(p);
  if (!f.ok || !f.value) throw new Error('not found');
  f.value.fill(0);
  assert.equal(findPdmOption(p), { ok: true, value: CLEAR });
});

// ---------------------------------------------------------------- 5-tuple

test('5-tuple: TCP and UDP ports', () => {
  assert.equal(view(ipv6Packet(NH_TCP, tcp(1, 65535))).fiveTuple, { src: SRC, dst: DST, sport: 1, dport: 65535, protocol: NH_TCP });
  assert.equal(view(ipv6Packet(NH_UDP, udp(0xabcd, 0x0102))).fiveTuple, { src: SRC, dst: DST, sport: 0xabcd, dport: 0x0102, protocol: NH_UDP });
  // Behind extension headers.
  assert.equal(view(ipv6Packet(NH_HOP_BY_HOP, [...optionsHeader(NH_ROUTING, []), ...routing(NH_TCP), ...tcp(7, 8)])).fiveTuple, {
    src: SRC,
    dst: DST,
    sport: 7,
    dport: 8,
    protocol: NH_TCP,
  });
});

test('5-tuple: ICMPv6 echo request/reply use the identifier as both ports', () => {
  for (const type of [128, 129]) {
    assert.equal(view(ipv6Packet(NH_ICMPV6, icmp(type, 0xbeef))).fiveTuple, { src: SRC, dst: DST, sport: 0xbeef, dport: 0xbeef, protocol: NH_ICMPV6 });
  }
});

test('5-tuple: other ICMPv6 types have ports 0', () => {
  for (const type of [1, 2, 3, 4, 127, 130, 133, 134, 135, 136, 143, 255]) {
    assert.equal(view(ipv6Packet(NH_ICMPV6, icmp(type, 0xbeef))).fiveTuple, { src: SRC, dst: DST, sport: 0, dport: 0, protocol: NH_ICMPV6 }, `type ${type}`);
  }
});

test('5-tuple: a protocol without ports has ports 0', () => {
  assert.equal(view(ipv6Packet(47, [0, 0, 0x86, 0xdd])).fiveTuple, { src: SRC, dst: DST, sport: 0, dport: 0, protocol: 47 });
});

test('5-tuple: addresses are copies', () => {
  const p = ipv6Packet(NH_UDP, udp());
  const t = view(p).fiveTuple!;
  p.fill(0, 8, 40);
  assert.equal(t.src, SRC);
  assert.equal(t.dst, DST);
});

// ---------------------------------------------------------------- insertion

test('insertion into every accepting chain, all three formats: invariants of §2', () => {
  for (const [name, packet] of acceptingChains()) {
    for (const [format, option] of OPTIONS) insertAndCheck(packet, option, `${name} / ${format}`);
  }
});

test('fresh headers are exactly as in the table of PROTOCOL.md §2', () => {
  const p = ipv6Packet(NH_UDP, udp());
  const clear = insertAndCheck(p, CLEAR, 'clear');
  assert.is(toHex(clear.subarray(40, 72)), '1103' + '0100' + toHex(CLEAR) + '01020000');
  assert.is(clear[6], NH_DEST_OPTS);
  assert.is((clear[4]! << 8) | clear[5]!, 12 + 32);
  const sealed = insertAndCheck(p, SEALED, 'encrypted');
  assert.is(toHex(sealed.subarray(40, 80)), '1104' + '0100' + toHex(SEALED));
  const v1 = insertAndCheck(p, V1, 'v1');
  assert.is(toHex(v1.subarray(40, 56)), '1101' + toHex(V1) + '0100');
  for (const [option, nh, expected] of [
    [CLEAR, NH_TCP, '0603' + '0100' + toHex(CLEAR) + '01020000'],
    [SEALED, NH_TCP, '0604' + '0100' + toHex(SEALED)],
    [V1, NH_ICMPV6, '3a01' + toHex(V1) + '0100'],
  ] as const) {
    const r = buildDestOptsHeader(null, nh, option);
    assert.ok(r.ok);
    if (r.ok) assert.is(toHex(r.value), expected);
  }
});

test('insertion behind HBH/Routing/atomic fragment rewrites the last Next Header only', () => {
  const p = ipv6Packet(NH_HOP_BY_HOP, [...optionsHeader(NH_ROUTING, []), ...routing(NH_FRAGMENT), ...fragment(NH_UDP, 0, false), ...udp()]);
  const out = insertAndCheck(p, CLEAR, 'chain');
  assert.is(out[6], NH_HOP_BY_HOP);
  assert.is(out[40], NH_ROUTING);
  assert.is(out[48], NH_FRAGMENT);
  assert.is(out[56], NH_DEST_OPTS, 'fragment header now names Destination Options');
  assert.is(out[64], NH_UDP, 'new header names UDP');
  assert.is(out.length, p.length + 32);
});

test('appending to an existing header: trailing padding replaced, earlier options kept', () => {
  const p = ipv6Packet(NH_DEST_OPTS, [NH_UDP, 0, 0x1e, 2, 1, 2, 0, 0, ...udp()]);
  const out = insertAndCheck(p, CLEAR, 'append clear');
  // 11 04 | 1e 02 01 02 | PadN(4) at 6..11 | option at 12..35 | PadN(2) at 36..39
  assert.is(toHex(out.subarray(40, 80)), '1104' + '1e020102' + '010400000000' + toHex(CLEAR) + '01020000');
  const outV1 = insertAndCheck(p, V1, 'append v1');
  // 11 02 | 1e 02 01 02 | PadN(2) at 6..9 | v1 at 10..21 | PadN(0) at 22..23
  assert.is(toHex(outV1.subarray(40, 64)), '1102' + '1e020102' + '01020000' + toHex(V1) + '0100');
  // An existing option ending at 11 (≡ 3 mod 8) needs one octet before the option: Pad1.
  const p3 = ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_UDP, [0x1e, 7, 1, 2, 3, 4, 5, 6, 7]), ...udp()]);
  const out3 = insertAndCheck(p3, CLEAR, 'Pad1 before');
  assert.is(toHex(out3.subarray(40, 51)), '1104' + '1e0701020304050607');
  assert.is(out3[51], 0, 'Pad1 at 11');
  assert.equal(out3.subarray(52, 76), CLEAR, 'option at 12');
  assert.is(toHex(out3.subarray(76, 80)), '01020000', 'PadN(2) at 36');
  // An existing option ending at 9 (≡ 1 mod 8) before v1 (needs ≡ 2): Pad1 as well.
  const p1 = ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_UDP, [0x1e, 5, 1, 2, 3, 4, 5]), ...udp()]);
  const out1 = insertAndCheck(p1, V1, 'Pad1 before v1');
  assert.is(out1[49], 0, 'Pad1 at 9');
  assert.equal(out1.subarray(50, 62), V1, 'v1 at 10');
});

test('alignment: option offset ≡ 4 (v2) or 2 (v1) mod 8 for every existing option length', () => {
  for (let len = 0; len <= 40; len++) {
    const p = ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_UDP, [0x1e, len, ...new Array<number>(len).fill(0x5a)]), ...udp()]);
    for (const [format, option] of OPTIONS) {
      const out = insertAndCheck(p, option, `existing option of ${len} data octets / ${format}`);
      const v = view(out);
      const dest = v.headers[v.finalDestOpts]!;
      assert.is((v.pdm!.offset - dest.offset) % 8, alignmentFor(option));
      // 4-octet fields of v2 at 4-octet boundaries of the packet too (headers start at multiples of 8).
      assert.is(dest.offset % 8, 0);
    }
  }
  assert.is(alignmentFor(CLEAR), 4);
  assert.is(alignmentFor(SEALED), 4);
  assert.is(alignmentFor(V1), 2);
});

test('buildDestOptsHeader: existing header with a bad length or TLVs, or a PDM option', () => {
  expectError(buildDestOptsHeader(fromHex('110000000000'), 0, CLEAR), 'BAD_OPTION_TLV', 'shorter than 8');
  expectError(buildDestOptsHeader(fromHex('1101000000000000'), 0, CLEAR), 'BAD_OPTION_TLV', 'Hdr Ext Len says 16');
  expectError(buildDestOptsHeader(fromHex('110001040000000000'), 0, CLEAR), 'BAD_OPTION_TLV', 'length mismatch');
  expectError(buildDestOptsHeader(fromHex('11001e0600000000'), 0, CLEAR), 'BAD_OPTION_TLV', 'TLV overruns');
  expectError(buildDestOptsHeader(fromHex('11000000000000' + '1e'), 0, CLEAR), 'BAD_OPTION_TLV', 'TLV header cut at the end');
  const withPdm = Uint8Array.from(optionsHeader(NH_UDP, [...V1]));
  expectError(buildDestOptsHeader(withPdm, 0, CLEAR), 'ALREADY_PRESENT');
});

test('HEADER_TOO_LONG: existing header of 2048 octets, or payload length above 65535', () => {
  // Hdr Ext Len 255: one option filling it (2046 octets: three 255-octet options and the rest).
  const body: number[] = [];
  while (2 + body.length + 257 <= 2048) body.push(0x1e, 255, ...new Array<number>(255).fill(0));
  const rest = 2048 - 2 - body.length;
  body.push(0x1e, rest - 2, ...new Array<number>(rest - 2).fill(0));
  const full = Uint8Array.from([NH_UDP, 255, ...body]);
  assert.is(full.length, 2048);
  expectError(buildDestOptsHeader(full, 0, CLEAR), 'HEADER_TOO_LONG');
  const p = ipv6Packet(NH_DEST_OPTS, [...full, ...udp()]);
  expectError(insertPdmOption(p, CLEAR), 'HEADER_TOO_LONG');
  // The same header with its last option shortened by 40 octets leaves room.
  const roomy = full.slice();
  roomy[2 + body.length - rest + 1] = rest - 2 - 40;
  assert.ok(buildDestOptsHeader(roomy, 0, CLEAR).ok);
  // Payload length near 65535.
  const big = ipv6Packet(NH_UDP, new Uint8Array(65535 - 20));
  expectError(insertPdmOption(big, CLEAR), 'HEADER_TOO_LONG');
  const fits = ipv6Packet(NH_UDP, new Uint8Array(65535 - 32));
  const r = insertPdmOption(fits, CLEAR);
  assert.ok(r.ok);
  if (r.ok) assert.is((r.value[4]! << 8) | r.value[5]!, 65535);
});

// ---------------------------------------------------------------- refusals

test('refusal: ALREADY_PRESENT (final Destination Options, or an earlier one)', () => {
  const once = insertAndCheck(ipv6Packet(NH_UDP, udp()), CLEAR, 'first');
  for (const [, option] of OPTIONS) expectError(insertPdmOption(once, option), 'ALREADY_PRESENT', 'second insertion');
  const early = ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_ROUTING, [...V1]), ...routing(NH_UDP), ...udp()]);
  expectError(insertPdmOption(early, CLEAR), 'ALREADY_PRESENT', 'PDM in the first Destination Options header');
  // A PDM option with an unrecognised length still counts as present.
  const odd = ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_UDP, [0x0f, 4, 1, 2, 3, 4]), ...udp()]);
  expectError(insertPdmOption(odd, CLEAR), 'ALREADY_PRESENT', 'malformed PDM option');
});

test('refusal: ESP (directly, behind HBH, behind Destination Options)', () => {
  expectError(insertPdmOption(ipv6Packet(NH_ESP, esp()), CLEAR), 'ESP');
  expectError(insertPdmOption(ipv6Packet(NH_HOP_BY_HOP, [...optionsHeader(NH_ESP, []), ...esp()]), CLEAR), 'ESP');
  expectError(insertPdmOption(ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_ESP, []), ...esp()]), CLEAR), 'ESP', 'Dest Opts then ESP');
  expectError(insertPdmOption(ipv6Packet(NH_ROUTING, [...routing(NH_ESP), ...esp()]), V1), 'ESP');
});

test('refusal: AH', () => {
  expectError(insertPdmOption(ipv6Packet(NH_AH, [...ah(NH_UDP), ...udp()]), CLEAR), 'AH');
  expectError(insertPdmOption(ipv6Packet(NH_AH, [...ah(NH_DEST_OPTS), ...optionsHeader(NH_UDP, []), ...udp()]), CLEAR), 'AH', 'AH before Destination Options');
  expectError(insertPdmOption(ipv6Packet(NH_HOP_BY_HOP, [...optionsHeader(NH_AH, []), ...ah(NH_TCP), ...tcp()]), SEALED), 'AH');
});

test('refusal: FRAGMENT (first fragment with M = 1, non-first fragments)', () => {
  expectError(insertPdmOption(ipv6Packet(NH_FRAGMENT, [...fragment(NH_UDP, 0, true), ...udp()]), CLEAR), 'FRAGMENT', 'first');
  expectError(insertPdmOption(ipv6Packet(NH_FRAGMENT, [...fragment(NH_UDP, 100, true), ...udp()]), CLEAR), 'FRAGMENT', 'middle');
  expectError(insertPdmOption(ipv6Packet(NH_FRAGMENT, [...fragment(NH_UDP, 100, false), ...udp()]), CLEAR), 'FRAGMENT', 'last');
  expectError(insertPdmOption(ipv6Packet(NH_HOP_BY_HOP, [...optionsHeader(NH_FRAGMENT, []), ...fragment(NH_DEST_OPTS, 0, true), ...optionsHeader(NH_UDP, []), ...udp()]), V1), 'FRAGMENT', 'first fragment with final Dest');
});

test('refusal: TRUNCATED (short packet, headers past the end)', () => {
  const p = ipv6Packet(NH_UDP, udp());
  for (let n = 0; n < 40; n++) expectError(insertPdmOption(p.slice(0, n), CLEAR), 'TRUNCATED', `${n} octets`);
  // Extension headers that run past the end of a self-consistent packet.
  const cut = (nh: number, bytes: number[]): Uint8Array => ipv6Packet(nh, bytes);
  expectError(parsePacket(cut(NH_DEST_OPTS, [NH_UDP])), 'TRUNCATED', 'one octet of an options header');
  expectError(parsePacket(cut(NH_DEST_OPTS, [NH_UDP, 1, 1, 4, 0, 0, 0, 0])), 'TRUNCATED', 'options header says 16, has 8');
  expectError(parsePacket(cut(NH_ROUTING, [NH_UDP, 0, 253, 0])), 'TRUNCATED', 'routing header cut');
  expectError(parsePacket(cut(NH_FRAGMENT, [NH_UDP, 0, 0, 0, 1, 2, 3])), 'TRUNCATED', 'fragment header cut');
  expectError(parsePacket(cut(NH_AH, ah(NH_UDP).slice(0, 20))), 'TRUNCATED', 'AH cut');
  expectError(parsePacket(cut(NH_AH, [NH_UDP])), 'TRUNCATED', 'AH one octet');
  expectError(insertPdmOption(cut(NH_HOP_BY_HOP, [NH_UDP, 0, 1, 4]), CLEAR), 'TRUNCATED', 'HBH cut');
});

test('refusal: BAD_PAYLOAD_LENGTH (larger or smaller than the octets present)', () => {
  const p = ipv6Packet(NH_UDP, udp());
  expectError(insertPdmOption(p.slice(0, p.length - 1), CLEAR), 'BAD_PAYLOAD_LENGTH', 'one octet missing');
  expectError(insertPdmOption(p.slice(0, 40), CLEAR), 'BAD_PAYLOAD_LENGTH', 'header only');
  const longer = new Uint8Array(p.length + 4);
  longer.set(p);
  expectError(insertPdmOption(longer, CLEAR), 'BAD_PAYLOAD_LENGTH', 'trailing octets');
  const zero = p.slice();
  zero[4] = 0;
  zero[5] = 0;
  expectError(parsePacket(zero), 'BAD_PAYLOAD_LENGTH', 'payload length 0 with a payload, not HBH');
});

test('refusal: JUMBOGRAM (payload length 0 with Hop-by-Hop)', () => {
  const hbh = optionsHeader(NH_UDP, [0xc2, 4, 0, 1, 0, 0]);
  const p = ipv6Packet(NH_HOP_BY_HOP, [...hbh, ...udp()]);
  p[4] = 0;
  p[5] = 0;
  expectError(parsePacket(p), 'JUMBOGRAM');
  expectError(insertPdmOption(p, CLEAR), 'JUMBOGRAM');
});

test('refusal: NOT_IPV6', () => {
  const p = ipv6Packet(NH_UDP, udp());
  for (const v of [0x00, 0x40, 0x50, 0x70, 0xf0]) {
    const q = p.slice();
    q[0] = v | (q[0]! & 0x0f);
    expectError(insertPdmOption(q, CLEAR), 'NOT_IPV6', `version ${v >> 4}`);
  }
});

test('refusal: BAD_OPTION_TLV (TLV overrunning its header, HBH not first, two PDM options)', () => {
  // Option of 10 data octets inside an 8-octet header.
  const over = ipv6Packet(NH_DEST_OPTS, [NH_UDP, 0, 0x1e, 10, 0, 0, 0, 0, ...udp()]);
  expectError(parsePacket(over), 'BAD_OPTION_TLV', 'overrun');
  expectError(insertPdmOption(over, CLEAR), 'BAD_OPTION_TLV', 'overrun, insert');
  expectError(findPdmOption(over), 'BAD_OPTION_TLV', 'overrun, find');
  // PadN overrunning by one octet.
  expectError(parsePacket(ipv6Packet(NH_DEST_OPTS, [NH_UDP, 0, 1, 5, 0, 0, 0, 0, ...udp()])), 'BAD_OPTION_TLV', 'PadN overrun');
  // Only the type octet of a TLV fits.
  expectError(parsePacket(ipv6Packet(NH_DEST_OPTS, [NH_UDP, 0, 0, 0, 0, 0, 0, 0x1e, ...udp()])), 'BAD_OPTION_TLV', 'type octet at the end');
  // The same faults in Hop-by-Hop.
  expectError(insertPdmOption(ipv6Packet(NH_HOP_BY_HOP, [NH_UDP, 0, 0x05, 6, 0, 0, 0, 0, ...udp()]), CLEAR), 'BAD_OPTION_TLV', 'HBH overrun');
  // Hop-by-Hop not first.
  expectError(parsePacket(ipv6Packet(NH_ROUTING, [...routing(NH_HOP_BY_HOP), ...optionsHeader(NH_UDP, []), ...udp()])), 'BAD_OPTION_TLV', 'HBH after Routing');
  // Two PDM options, in one header or in two.
  expectError(parsePacket(ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_UDP, [...V1, ...V1]), ...udp()])), 'BAD_OPTION_TLV', 'two in one header');
  expectError(
    parsePacket(ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_ROUTING, [...V1]), ...routing(NH_DEST_OPTS), ...optionsHeader(NH_UDP, [...CLEAR]), ...udp()])),
    'BAD_OPTION_TLV',
    'two headers',
  );
  // A Routing header's body is not parsed as TLVs.
  assert.ok(parsePacket(ipv6Packet(NH_ROUTING, [NH_UDP, 0, 253, 0, 0x1e, 99, 0, 0, ...udp()])).ok);
});

test('refusal order: ALREADY_PRESENT is reported before AH/ESP/FRAGMENT', () => {
  const p = ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_FRAGMENT, [...CLEAR]), ...fragment(NH_UDP, 0, true), ...udp()]);
  expectError(insertPdmOption(p, V1), 'ALREADY_PRESENT');
});

test('every refusal leaves the input packet and option unmodified', () => {
  const cases: Uint8Array[] = [
    ipv6Packet(NH_ESP, esp()),
    ipv6Packet(NH_AH, [...ah(NH_UDP), ...udp()]),
    ipv6Packet(NH_FRAGMENT, [...fragment(NH_UDP, 0, true), ...udp()]),
    ipv6Packet(NH_DEST_OPTS, [NH_UDP, 0, 0x1e, 10, 0, 0, 0, 0, ...udp()]),
    ipv6Packet(NH_DEST_OPTS, [...optionsHeader(NH_UDP, [...CLEAR]), ...udp()]),
    ipv6Packet(NH_UDP, udp()).slice(0, 45),
  ];
  for (const p of cases) {
    const copy = p.slice();
    for (const [, option] of OPTIONS) {
      const oc = option.slice();
      const r = insertPdmOption(p, option);
      assert.is(r.ok, false);
      assert.equal(p, copy);
      assert.equal(option, oc);
    }
  }
  // buildDestOptsHeader does not modify the existing header either.
  const existing = Uint8Array.from([NH_UDP, 0, 0x1e, 2, 1, 2, 1, 0]);
  const ec = existing.slice();
  assert.ok(buildDestOptsHeader(existing, 0, CLEAR).ok);
  assert.equal(existing, ec);
});

// ---------------------------------------------------------------- fuzz

function safe<T>(what: string, input: Uint8Array, fn: () => PacketResult<T>): PacketResult<T> {
  let r: PacketResult<T>;
  try {
    r = fn();
  } catch (err) {
    throw new Error(`${what} threw for ${toHex(input)}: ${String(err)}`);
  }
  if (!r.ok) assert.ok(PACKET_ERRORS.includes(r.error), `${what}: undocumented error ${r.error}`);
  return r;
}

test('fuzz: random garbage never makes parsePacket / findPdmOption / insertPdmOption throw', () => {
  for (let i = 0; i < 3000; i++) {
    const len = randomInt(0, 200);
    const p = new Uint8Array(randomBytes(len));
    // Most inputs get a plausible fixed header so the walk is reached.
    if (len >= 40 && i % 4 !== 0) {
      p[0] = 0x60 | (p[0]! & 0x0f);
      p[4] = (len - 40) >> 8;
      p[5] = (len - 40) & 0xff;
      p[6] = [0, 43, 44, 50, 51, 60, 6, 17, 58, 59][randomInt(10)]!;
    }
    const copy = p.slice();
    safe('parsePacket', p, () => parsePacket(p));
    safe('findPdmOption', p, () => findPdmOption(p));
    for (const [, option] of OPTIONS) {
      const r = safe('insertPdmOption', p, () => insertPdmOption(p, option));
      if (r.ok) checkInsertion(p, option, r.value);
    }
    assert.equal(p, copy, 'input not modified');
  }
});

test('fuzz: mutated valid packets (random octet changes) never throw; successful insertions keep the invariants', () => {
  const bases = acceptingChains().map(([, p]) => p);
  bases.push(ipv6Packet(NH_AH, [...ah(NH_UDP), ...udp()]), ipv6Packet(NH_FRAGMENT, [...fragment(NH_UDP, 0, true), ...udp()]));
  let inserted = 0;
  for (let i = 0; i < 4000; i++) {
    const p = bases[randomInt(bases.length)]!.slice();
    const flips = randomInt(1, 4);
    for (let k = 0; k < flips; k++) {
      // Mutate the chain (after the addresses) mostly.
      const at = randomInt(0, 10) === 0 || p.length <= 40 ? randomInt(0, p.length) : randomInt(40, p.length);
      p[at] = randomInt(0, 10) < 5 ? randomInt(256) : [0, 1, 4, 6, 8, 15, 17, 43, 44, 51, 60][randomInt(11)]!;
    }
    const copy = p.slice();
    safe('parsePacket', p, () => parsePacket(p));
    safe('findPdmOption', p, () => findPdmOption(p));
    const [, option] = OPTIONS[randomInt(OPTIONS.length)]!;
    const r = safe('insertPdmOption', p, () => insertPdmOption(p, option));
    if (r.ok) {
      inserted++;
      try {
        checkInsertion(p, option, r.value);
      } catch (err) {
        throw new Error(`invariant broken for ${toHex(p)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    assert.equal(p, copy, 'input not modified');
  }
  assert.ok(inserted > 500, `enough successful insertions (${inserted})`);
});

test.run();
