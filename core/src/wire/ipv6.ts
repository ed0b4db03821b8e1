/**
 * A read-mostly view of an IPv6 packet: the extension-header chain, the
 * upper-layer 5-tuple, the PDM option if present, and insertion of a PDM
 * option into the Destination Options header that precedes the upper layer
 * (docs/PROTOCOL.md §2). Used by the analyzer, the lab checks and the vectors.
 */
import { readU16, writeU16 } from '../util/bytes.js';
import { PDM_OPTION_TYPE } from './options.js';

export const NH_HOP_BY_HOP = 0;
export const NH_TCP = 6;
export const NH_UDP = 17;
export const NH_ROUTING = 43;
export const NH_FRAGMENT = 44;
export const NH_ESP = 50;
export const NH_AH = 51;
export const NH_ICMPV6 = 58;
export const NH_NONE = 59;
export const NH_DEST_OPTS = 60;

const IPV6_HEADER_LEN = 40;
const OPT_PAD1 = 0;
const OPT_PADN = 1;
/** Hdr Ext Len is one octet counting 8-octet units beyond the first. */
const MAX_OPTIONS_HEADER_LEN = 2048;

export type PacketError =
  | 'TRUNCATED'
  | 'NOT_IPV6'
  | 'BAD_PAYLOAD_LENGTH'
  | 'JUMBOGRAM'
  | 'BAD_OPTION_TLV'
  | 'ESP'
  | 'AH'
  | 'FRAGMENT'
  | 'ALREADY_PRESENT'
  | 'HEADER_TOO_LONG';

export interface ExtensionHeader {
  type: number;
  offset: number;
  length: number;
}

export interface FiveTuple {
  src: Uint8Array;
  dst: Uint8Array;
  sport: number;
  dport: number;
  protocol: number;
}

export interface PacketView {
  /** Extension headers in order, not including the fixed header. */
  headers: ExtensionHeader[];
  /** Protocol number after the last extension header (may be ESP, 59, or a fragment's payload). */
  upperProtocol: number;
  upperOffset: number;
  /** Index in `headers` of the Destination Options header right before the upper layer, or -1. */
  finalDestOpts: number;
  /** True when the chain ends in a non-first fragment, whose upper layer is not visible. */
  nonFirstFragment: boolean;
  /** True for a fragment header with offset 0 and M = 0 (RFC 6946): insertion is still safe. */
  atomicFragment: boolean;
  fiveTuple: FiveTuple | null;
  /** The PDM option found in any Destination Options header: offset of its type octet. */
  pdm: { offset: number; length: number } | null;
}

export type PacketResult<T> = { ok: true; value: T } | { ok: false; error: PacketError };

function fail<T>(error: PacketError): PacketResult<T> {
  return { ok: false, error };
}

interface TlvScan {
  pdmOffset: number;
  pdmLength: number;
  /** Offset just past the last option that is not padding. */
  lastNonPadEnd: number;
}

/** Walk the TLVs of an options header occupying packet[start, end). */
function scanOptions(packet: Uint8Array, start: number, end: number): TlvScan | null {
  let off = start + 2;
  const scan: TlvScan = { pdmOffset: -1, pdmLength: 0, lastNonPadEnd: start + 2 };
  while (off < end) {
    const type = packet[off]!;
    if (type === OPT_PAD1) {
      off += 1;
      continue;
    }
    if (off + 2 > end) return null;
    const optEnd = off + 2 + packet[off + 1]!;
    if (optEnd > end) return null;
    if (type !== OPT_PADN) {
      if (type === PDM_OPTION_TYPE) {
        if (scan.pdmOffset >= 0) return null;
        scan.pdmOffset = off;
        scan.pdmLength = optEnd - off;
      }
      scan.lastNonPadEnd = optEnd;
    }
    off = optEnd;
  }
  return scan;
}

function readFiveTuple(packet: Uint8Array, proto: number, off: number): FiveTuple | null {
  const src = packet.slice(8, 24);
  const dst = packet.slice(24, 40);
  if (proto === NH_TCP || proto === NH_UDP) {
    if (off + 4 > packet.length) return null;
    return { src, dst, sport: readU16(packet, off), dport: readU16(packet, off + 2), protocol: proto };
  }
  if (proto === NH_ICMPV6) {
    if (off + 8 > packet.length) return null;
    const type = packet[off]!;
    // Echo request/reply: the identifier stands in for both ports (docs/PROTOCOL.md §5.1).
    const id = type === 128 || type === 129 ? readU16(packet, off + 4) : 0;
    return { src, dst, sport: id, dport: id, protocol: proto };
  }
  return { src, dst, sport: 0, dport: 0, protocol: proto };
}

export interface ParseOptions {
  /**
   * Accept a packet cut short by a capture's snapshot length: the payload
   * length may exceed the bytes present, and headers are parsed as far as
   * they were captured (a header cut in the middle is still TRUNCATED).
   */
  captured?: boolean;
}

export function parsePacket(packet: Uint8Array, opts: ParseOptions = {}): PacketResult<PacketView> {
  if (packet.length < IPV6_HEADER_LEN) return fail('TRUNCATED');
  if (packet[0]! >> 4 !== 6) return fail('NOT_IPV6');
  const payloadLength = readU16(packet, 4);
  if (payloadLength === 0 && packet[6] === NH_HOP_BY_HOP) return fail('JUMBOGRAM');
  const expected = IPV6_HEADER_LEN + payloadLength;
  if (expected !== packet.length && !(opts.captured && expected > packet.length)) return fail('BAD_PAYLOAD_LENGTH');

  const headers: ExtensionHeader[] = [];
  let nh = packet[6]!;
  let off = IPV6_HEADER_LEN;
  let nonFirstFragment = false;
  let atomicFragment = false;
  let pdm: PacketView['pdm'] = null;

  for (;;) {
    if (nh === NH_HOP_BY_HOP || nh === NH_ROUTING || nh === NH_DEST_OPTS) {
      if (nh === NH_HOP_BY_HOP && headers.length !== 0) return fail('BAD_OPTION_TLV');
      if (off + 2 > packet.length) return fail('TRUNCATED');
      const len = (packet[off + 1]! + 1) * 8;
      if (off + len > packet.length) return fail('TRUNCATED');
      if (nh !== NH_ROUTING) {
        const scan = scanOptions(packet, off, off + len);
        if (!scan) return fail('BAD_OPTION_TLV');
        if (nh === NH_DEST_OPTS && scan.pdmOffset >= 0) {
          if (pdm) return fail('BAD_OPTION_TLV');
          pdm = { offset: scan.pdmOffset, length: scan.pdmLength };
        }
      }
      headers.push({ type: nh, offset: off, length: len });
      nh = packet[off]!;
      off += len;
    } else if (nh === NH_FRAGMENT) {
      if (off + 8 > packet.length) return fail('TRUNCATED');
      const offsetAndFlags = readU16(packet, off + 2);
      headers.push({ type: nh, offset: off, length: 8 });
      const fragmentOffset = offsetAndFlags >> 3;
      const more = offsetAndFlags & 1;
      if (fragmentOffset !== 0) nonFirstFragment = true;
      atomicFragment = fragmentOffset === 0 && more === 0;
      nh = packet[off]!;
      off += 8;
      if (nonFirstFragment) break;
    } else if (nh === NH_AH) {
      if (off + 2 > packet.length) return fail('TRUNCATED');
      const len = (packet[off + 1]! + 2) * 4;
      if (off + len > packet.length) return fail('TRUNCATED');
      headers.push({ type: nh, offset: off, length: len });
      nh = packet[off]!;
      off += len;
    } else {
      break;
    }
  }

  const last = headers[headers.length - 1];
  const finalDestOpts = last && last.type === NH_DEST_OPTS && !nonFirstFragment ? headers.length - 1 : -1;
  const fiveTuple = nonFirstFragment || nh === NH_ESP || nh === NH_NONE ? null : readFiveTuple(packet, nh, off);
  return {
    ok: true,
    value: { headers, upperProtocol: nh, upperOffset: off, finalDestOpts, nonFirstFragment, atomicFragment, fiveTuple, pdm },
  };
}

/** The PDM option's octets (type through data) if the packet carries one. */
export function findPdmOption(packet: Uint8Array): PacketResult<Uint8Array | null> {
  const parsed = parsePacket(packet);
  if (!parsed.ok) return parsed;
  const pdm = parsed.value.pdm;
  return { ok: true, value: pdm ? packet.slice(pdm.offset, pdm.offset + pdm.length) : null };
}

/** Required position of the option's type octet within the header, modulo 8. */
export function alignmentFor(option: Uint8Array): number {
  // RFC 8250 PDM has only 16-bit fields; PDMv2's 32-bit fields want 8n+4.
  return option[1] === 10 ? 2 : 4;
}

function padding(count: number): number[] {
  if (count === 0) return [];
  if (count === 1) return [OPT_PAD1];
  return [OPT_PADN, count - 2, ...new Array<number>(count - 2).fill(0)];
}

/**
 * Build the Destination Options header that carries `option`: either a new
 * one (existing = null, with the given next header) or the existing one with
 * its trailing padding replaced by the option.
 */
export function buildDestOptsHeader(
  existing: Uint8Array | null,
  nextHeader: number,
  option: Uint8Array,
): PacketResult<Uint8Array> {
  let body: number[];
  if (existing) {
    if (existing.length < 8 || existing.length !== (existing[1]! + 1) * 8) return fail('BAD_OPTION_TLV');
    const scan = scanOptions(existing, 0, existing.length);
    if (!scan) return fail('BAD_OPTION_TLV');
    if (scan.pdmOffset >= 0) return fail('ALREADY_PRESENT');
    body = Array.from(existing.subarray(0, scan.lastNonPadEnd));
  } else {
    body = [nextHeader & 0xff, 0];
  }
  const align = alignmentFor(option);
  body.push(...padding((align - (body.length % 8) + 8) % 8));
  body.push(...option);
  body.push(...padding((8 - (body.length % 8)) % 8));
  if (body.length > MAX_OPTIONS_HEADER_LEN) return fail('HEADER_TOO_LONG');
  body[1] = body.length / 8 - 1;
  return { ok: true, value: Uint8Array.from(body) };
}

/** Insert `option` into `packet` as docs/PROTOCOL.md §2 says; returns a new packet. */
export function insertPdmOption(packet: Uint8Array, option: Uint8Array): PacketResult<Uint8Array> {
  const parsed = parsePacket(packet);
  if (!parsed.ok) return parsed;
  const view = parsed.value;
  if (view.pdm) return fail('ALREADY_PRESENT');
  // A fragment's reason comes first: behind a non-first fragment the next header says nothing.
  if (view.headers.some((h) => h.type === NH_FRAGMENT) && !view.atomicFragment) return fail('FRAGMENT');
  if (view.headers.some((h) => h.type === NH_AH)) return fail('AH');
  if (view.upperProtocol === NH_ESP) return fail('ESP');

  let start: number;
  let end: number;
  let header: PacketResult<Uint8Array>;
  const finalHeader = view.finalDestOpts >= 0 ? view.headers[view.finalDestOpts]! : null;
  if (finalHeader) {
    start = finalHeader.offset;
    end = start + finalHeader.length;
    header = buildDestOptsHeader(packet.subarray(start, end), 0, option);
  } else {
    start = end = view.upperOffset;
    header = buildDestOptsHeader(null, view.upperProtocol, option);
  }
  if (!header.ok) return header;
  const prev = view.headers[finalHeader ? view.finalDestOpts - 1 : view.headers.length - 1];
  const prevNextHeaderAt = prev ? prev.offset : 6;

  const out = new Uint8Array(packet.length - (end - start) + header.value.length);
  out.set(packet.subarray(0, start), 0);
  out.set(header.value, start);
  out.set(packet.subarray(end), start + header.value.length);
  out[prevNextHeaderAt] = NH_DEST_OPTS;
  const payloadLength = out.length - IPV6_HEADER_LEN;
  if (payloadLength > 0xffff) return fail('HEADER_TOO_LONG');
  out[4] = payloadLength >> 8;
  out[5] = payloadLength & 0xff;
  return { ok: true, value: out };
}

/**
 * A whole IPv6 packet: fixed header (traffic class and flow label zero, hop
 * limit 64) followed by `payload`, which holds any extension headers and the
 * upper layer. For tests, vectors and the lab's crafted packets.
 */
export function buildPacket(src: Uint8Array, dst: Uint8Array, nextHeader: number, payload: Uint8Array | number[]): Uint8Array {
  if (src.length !== 16 || dst.length !== 16) throw new RangeError('IPv6 addresses must be 16 octets');
  if (payload.length > 0xffff) throw new RangeError('payload longer than 65535 octets');
  const p = new Uint8Array(IPV6_HEADER_LEN + payload.length);
  p[0] = 0x60;
  writeU16(p, 4, payload.length);
  p[6] = nextHeader;
  p[7] = 64;
  p.set(src, 8);
  p.set(dst, 24);
  p.set(payload, IPV6_HEADER_LEN);
  return p;
}
