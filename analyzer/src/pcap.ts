/**
 * Reader for classic pcap files (the format tcpdump -w writes): both byte
 * orders, microsecond and nanosecond timestamps. Pure: takes the file's bytes.
 */

export interface CapturedPacket {
  /** Index in the file, from 0. */
  index: number;
  /** Capture time in nanoseconds since the epoch. */
  timestampNs: bigint;
  /** Link-layer type of the file (DLT). */
  linkType: number;
  /** Captured bytes (may be shorter than the original when snaplen cut it). */
  data: Uint8Array;
  originalLength: number;
}

export class PcapError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'PcapError';
  }
}

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_IPV6 = 229;
export const LINKTYPE_LINUX_SLL2 = 276;

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;
const MAX_SNAPLEN = 262144;

export function readPcap(file: Uint8Array): CapturedPacket[] {
  if (file.length < 24) throw new PcapError('file shorter than a pcap header');
  const view = new DataView(file.buffer, file.byteOffset, file.byteLength);
  const magicBE = view.getUint32(0, false);
  const magicLE = view.getUint32(0, true);
  let little: boolean;
  let nanos: boolean;
  if (magicLE === MAGIC_US || magicLE === MAGIC_NS) {
    little = true;
    nanos = magicLE === MAGIC_NS;
  } else if (magicBE === MAGIC_US || magicBE === MAGIC_NS) {
    little = false;
    nanos = magicBE === MAGIC_NS;
  } else if (magicLE === 0x0a0d0d0a) {
    throw new PcapError('pcapng is not supported: write captures with tcpdump -w (classic pcap)');
  } else {
    throw new PcapError('not a pcap file (bad magic number)');
  }
  const linkType = view.getUint32(20, little) & 0x0fffffff;
  const packets: CapturedPacket[] = [];
  let off = 24;
  while (off < file.length) {
    if (off + 16 > file.length) throw new PcapError(`record header of packet ${packets.length} is truncated`);
    const sec = view.getUint32(off, little);
    const frac = view.getUint32(off + 4, little);
    const capLen = view.getUint32(off + 8, little);
    const origLen = view.getUint32(off + 12, little);
    if (capLen > MAX_SNAPLEN) throw new PcapError(`packet ${packets.length} claims ${capLen} captured octets`);
    if (off + 16 + capLen > file.length) throw new PcapError(`packet ${packets.length} is truncated`);
    const timestampNs = BigInt(sec) * 1_000_000_000n + BigInt(frac) * (nanos ? 1n : 1000n);
    packets.push({ index: packets.length, timestampNs, linkType, data: file.subarray(off + 16, off + 16 + capLen), originalLength: origLen });
    off += 16 + capLen;
  }
  return packets;
}

/** The IPv6 packet inside a link-layer frame, or null when the frame carries something else. */
export function ipv6Payload(p: CapturedPacket): Uint8Array | null {
  const d = p.data;
  let etherType: number;
  let off: number;
  switch (p.linkType) {
    case LINKTYPE_RAW:
    case LINKTYPE_IPV6:
      return d.length > 0 && d[0]! >> 4 === 6 ? d : null;
    case LINKTYPE_ETHERNET: {
      if (d.length < 14) return null;
      etherType = (d[12]! << 8) | d[13]!;
      off = 14;
      while (etherType === 0x8100 || etherType === 0x88a8) {
        if (d.length < off + 4) return null;
        etherType = (d[off + 2]! << 8) | d[off + 3]!;
        off += 4;
      }
      break;
    }
    case LINKTYPE_LINUX_SLL:
      if (d.length < 16) return null;
      etherType = (d[14]! << 8) | d[15]!;
      off = 16;
      break;
    case LINKTYPE_LINUX_SLL2:
      if (d.length < 20) return null;
      etherType = (d[0]! << 8) | d[1]!;
      off = 20;
      break;
    default:
      return null;
  }
  return etherType === 0x86dd ? d.subarray(off) : null;
}
