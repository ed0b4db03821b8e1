/**
 * Allocation-free location of the IPv6 header, the 5-tuple and the PDM option
 * in a captured frame: the analyzer's hot path. It accepts and refuses packets
 * exactly as core/src/ipv6.ts parsePacket({ captured: true }) does (that
 * function builds objects per packet, which costs more than the whole
 * analysis); test/analyzer-scan.test.ts holds the two to each other.
 */

export const LINKTYPE_NULL = 0;
export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LOOP = 108;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

/** Filled in by scanFrame; one instance is reused for every packet. */
export class FrameScan {
  /** Offset of the IPv6 header in the buffer. */
  ip = 0;
  /** Offset just past the captured frame. */
  end = 0;
  protocol = 0;
  sport = 0;
  dport = 0;
  /** Offset of the PDM option's type octet, or -1. */
  pdm = -1;
  /** Octets of the option present (type and length octets included). */
  pdmLen = 0;
  /** Offset of the upper-layer header. */
  upper = 0;
}

const OPT_PAD1 = 0;
const PDM = 0x0f;

/** Offset of the IPv6 header inside the frame, or -1. */
export function ipv6Offset(d: Uint8Array, off: number, capLen: number, linkType: number): number {
  const end = off + capLen;
  let etherType: number;
  let at: number;
  switch (linkType) {
    case LINKTYPE_ETHERNET:
      if (capLen < 14) return -1;
      etherType = (d[off + 12]! << 8) | d[off + 13]!;
      at = off + 14;
      while (etherType === 0x8100 || etherType === 0x88a8) {
        if (at + 4 > end) return -1;
        etherType = (d[at + 2]! << 8) | d[at + 3]!;
        at += 4;
      }
      break;
    case LINKTYPE_RAW:
    case LINKTYPE_IPV6:
      return capLen > 0 && d[off]! >> 4 === 6 ? off : -1;
    case LINKTYPE_LINUX_SLL:
      if (capLen < 16) return -1;
      etherType = (d[off + 14]! << 8) | d[off + 15]!;
      at = off + 16;
      break;
    case LINKTYPE_LINUX_SLL2:
      if (capLen < 20) return -1;
      etherType = (d[off]! << 8) | d[off + 1]!;
      at = off + 20;
      break;
    case LINKTYPE_NULL:
    case LINKTYPE_LOOP:
      // A 4-octet address family in the capturing host's byte order; the IP version nibble says enough.
      return capLen > 4 && d[off + 4]! >> 4 === 6 ? off + 4 : -1;
    default:
      return -1;
  }
  return etherType === 0x86dd ? at : -1;
}

/**
 * Walks an options header's TLVs; records a PDM option in `s` when `dest`.
 * False when the TLVs are malformed (or a second PDM option appears).
 */
function scanOptions(d: Uint8Array, start: number, end: number, dest: boolean, s: FrameScan): boolean {
  let o = start + 2;
  while (o < end) {
    const type = d[o]!;
    if (type === OPT_PAD1) {
      o++;
      continue;
    }
    if (o + 2 > end) return false;
    const optEnd = o + 2 + d[o + 1]!;
    if (optEnd > end) return false;
    if (type === PDM && dest) {
      if (s.pdm >= 0) return false;
      s.pdm = o;
      s.pdmLen = optEnd - o;
    }
    o = optEnd;
  }
  return true;
}

/**
 * Fills `s` for an IPv6 packet with a visible upper layer; false for anything
 * else (not IPv6, malformed, ESP, no next header, a non-first fragment).
 */
export function scanFrame(d: Uint8Array, off: number, capLen: number, linkType: number, s: FrameScan): boolean {
  const ip = ipv6Offset(d, off, capLen, linkType);
  if (ip < 0) return false;
  const end = off + capLen;
  if (end - ip < 40 || d[ip]! >> 4 !== 6) return false;
  const payloadLength = (d[ip + 4]! << 8) | d[ip + 5]!;
  let nh = d[ip + 6]!;
  if (payloadLength === 0 && nh === 0) return false;
  const expected = ip + 40 + payloadLength;
  // A snapshot length may cut the packet; anything beyond the payload length is link padding or trailer.
  const pEnd = expected < end ? expected : end;
  s.ip = ip;
  s.end = pEnd;
  s.pdm = -1;
  s.pdmLen = 0;
  let o = ip + 40;
  let first = true;
  for (;;) {
    if (nh === 0 || nh === 43 || nh === 60) {
      if (nh === 0 && !first) return false;
      if (o + 2 > pEnd) return false;
      const len = (d[o + 1]! + 1) * 8;
      if (o + len > pEnd) return false;
      if (nh !== 43 && !scanOptions(d, o, o + len, nh === 60, s)) return false;
      nh = d[o]!;
      o += len;
    } else if (nh === 44) {
      if (o + 8 > pEnd) return false;
      const fragmentOffset = ((d[o + 2]! << 8) | d[o + 3]!) >> 3;
      nh = d[o]!;
      o += 8;
      if (fragmentOffset !== 0) return false;
    } else if (nh === 51) {
      if (o + 2 > pEnd) return false;
      const len = (d[o + 1]! + 2) * 4;
      if (o + len > pEnd) return false;
      nh = d[o]!;
      o += len;
    } else {
      break;
    }
    first = false;
  }
  if (nh === 50 || nh === 59) return false;
  s.protocol = nh;
  s.upper = o;
  if (nh === 6 || nh === 17) {
    if (o + 4 > pEnd) return false;
    s.sport = (d[o]! << 8) | d[o + 1]!;
    s.dport = (d[o + 2]! << 8) | d[o + 3]!;
  } else if (nh === 58) {
    if (o + 8 > pEnd) return false;
    const type = d[o]!;
    const id = type === 128 || type === 129 ? (d[o + 4]! << 8) | d[o + 5]! : 0;
    s.sport = id;
    s.dport = id;
  } else {
    s.sport = 0;
    s.dport = 0;
  }
  return true;
}
