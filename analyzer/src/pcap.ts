/**
 * Captures held in memory (pcap or pcapng, via capture-format.ts) and the
 * link layers the analyzer understands. Pure: takes the file's bytes.
 */
import { CaptureFormatError, CaptureParser } from './capture-format.js';
import { ipv6Offset } from './packet-scan.js';

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

export { LINKTYPE_ETHERNET, LINKTYPE_IPV6, LINKTYPE_LINUX_SLL, LINKTYPE_LINUX_SLL2, LINKTYPE_LOOP, LINKTYPE_NULL, LINKTYPE_RAW } from './packet-scan.js';

/**
 * Every packet of a whole capture file (pcap or pcapng) held in memory, for
 * the per-packet tools (decode, the lab's checks). A damaged file throws
 * PcapError; readCaptureLenient keeps the packets before the damage.
 */
export function readPcap(file: Uint8Array): CapturedPacket[] {
  const { packets, error } = readCaptureLenient(file);
  if (error) throw new PcapError(error.message);
  return packets;
}

export function readCaptureLenient(file: Uint8Array): { packets: CapturedPacket[]; error: CaptureFormatError | null } {
  const packets: CapturedPacket[] = [];
  const parser: CaptureParser = new CaptureParser((linkType, relSec, relNsInSec, data, off, capLen, origLen) => {
    // One chunk holds the whole file, so the subarray stays valid after the call.
    const timestampNs = parser.baseNs! + BigInt(relSec) * 1_000_000_000n + BigInt(Math.round(relNsInSec));
    packets.push({ index: packets.length, timestampNs, linkType, data: data.subarray(off, off + capLen), originalLength: origLen });
  });
  try {
    parser.push(file);
    parser.finish();
  } catch (err) {
    if (err instanceof CaptureFormatError) return { packets, error: err };
    throw err;
  }
  return { packets, error: null };
}

/** The IPv6 packet inside a link-layer frame, or null when the frame carries something else. */
export function ipv6Payload(p: CapturedPacket): Uint8Array | null {
  const at = ipv6Offset(p.data, 0, p.data.length, p.linkType);
  return at < 0 ? null : p.data.subarray(at);
}
