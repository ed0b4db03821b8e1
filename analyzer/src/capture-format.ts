/**
 * Incremental reader for classic pcap and pcapng, fed in chunks of any size
 * (a file read in blocks, a gunzip stream, standard input). Pure: no Node API.
 *
 * Timestamps are handed out as nanoseconds relative to the capture's first
 * packet (a double: exact for ~104 days of capture) plus one bigint base for
 * the whole capture, so the hot path never touches BigInt.
 *
 * pcapng (https://www.ietf.org/archive/id/draft-ietf-opsawg-pcapng-03.html):
 * sections (either byte order, several in one file), interfaces with their own
 * link type, if_tsresol (10^-n or 2^-n) and if_tsoffset; enhanced, simple and
 * the obsolete packet blocks carry packets; every other block and every
 * option (comments included) is skipped.
 */

export class CaptureFormatError extends Error {
  constructor(
    message: string,
    /** Offset in the (decompressed) file of the record or block that failed. */
    readonly offset: number,
    /** Packets delivered before the failure: they stay valid. */
    readonly packetsRead: number,
  ) {
    super(`${message} at file offset ${offset} (after ${packetsRead} packets)`);
    this.name = 'CaptureFormatError';
  }
}

/**
 * Receives each packet: its time since the capture's first packet as whole
 * seconds plus nanoseconds (two small integers, which a call passes without
 * boxing, where one double of nanoseconds would be allocated per packet).
 * `data[off, off + capLen)` is only valid during the call.
 */
export type PacketSink = (linkType: number, relSec: number, relNsInSec: number, data: Uint8Array, off: number, capLen: number, origLen: number) => void;

export type CaptureKind = 'pcap' | 'pcapng';

const PCAP_MAGIC_US = 0xa1b2c3d4;
const PCAP_MAGIC_NS = 0xa1b23c4d;
const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER = 0x1a2b3c4d;
const BLOCK_IDB = 1;
const BLOCK_PB = 2;
const BLOCK_SPB = 3;
const BLOCK_EPB = 6;
const OPT_IF_TSRESOL = 9;
const OPT_IF_TSOFFSET = 14;
/** Larger than any real snapshot length; a bigger record is corruption, not a packet. */
const MAX_RECORD = 262144 + 4096;
const MAX_BLOCK = 16 * 1024 * 1024;
const TWO_32 = 4294967296;
const FILL_BUFFER = 8 * 1024 * 1024;

interface Interface {
  linkType: number;
  snapLen: number;
  /** Timestamp units per second (10^n or 2^n). */
  unitsPerSecond: number;
  /** ns per unit, when unitsPerSecond divides 10^9 exactly (the usual case), else 0. */
  nsPerUnit: number;
  offsetSeconds: number;
  /** First timestamp seen on this interface (units, split), and its ns relative to the capture base. */
  baseHi: number;
  baseLo: number;
  baseRelNs: number;
  seen: boolean;
}

export function detectCaptureKind(head: Uint8Array): CaptureKind | null {
  if (head.length < 4) return null;
  const le = (head[0]! | (head[1]! << 8) | (head[2]! << 16) | (head[3]! << 24)) >>> 0;
  const be = ((head[0]! << 24) | (head[1]! << 16) | (head[2]! << 8) | head[3]!) >>> 0;
  if (le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS || be === PCAP_MAGIC_US || be === PCAP_MAGIC_NS) return 'pcap';
  if (le === PCAPNG_SHB) return 'pcapng';
  return null;
}

export class CaptureParser {
  /** Capture time of the first packet, ns since the epoch (null before it). */
  baseNs: bigint | null = null;
  packets = 0;
  kind: CaptureKind | null = null;
  /** Offset in the stream of `buf[0]`. */
  private consumed = 0;
  private buf: Uint8Array = new Uint8Array(0);
  private view: DataView = new DataView(new ArrayBuffer(0));
  /** Unread octets are buf[pos, len). */
  private pos = 0;
  private len = 0;
  /** fill()'s buffer, reused for the whole file. */
  private own: Uint8Array | null = null;
  private ownView: DataView | null = null;
  private little = true;
  // classic pcap
  private pcapLinkType = 0;
  private pcapNsPerFrac = 1000;
  private pcapBaseSec = 0;
  private pcapBaseFracNs = 0;
  // pcapng
  private interfaces: Interface[] = [];
  private lastRelNs = 0;

  constructor(private readonly sink: PacketSink) {}

  /** Feed the next chunk. Throws CaptureFormatError on corruption (packets before it were delivered). */
  push(chunk: Uint8Array): void {
    if (this.pos < this.len) {
      // A record straddles the chunk boundary: keep the unread tail in front of the new chunk.
      const joined = new Uint8Array(this.len - this.pos + chunk.length);
      joined.set(this.buf.subarray(this.pos, this.len), 0);
      joined.set(chunk, this.len - this.pos);
      this.consumed += this.pos;
      this.buf = joined;
    } else {
      this.consumed += this.len;
      this.buf = chunk;
    }
    this.pos = 0;
    this.len = this.buf.length;
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    this.parse();
  }

  /**
   * Reads straight into the parser's own buffer, for files: `read(into)` fills
   * a prefix of `into` and returns its length (0 at the end of input). The
   * unread tail moves to the front first, so nothing is allocated per read.
   */
  fill(read: (into: Uint8Array) => number): number {
    const tail = this.len - this.pos;
    let own = this.own;
    if (own === null || tail > own.length / 2) {
      const grown: Uint8Array = new Uint8Array(Math.max(FILL_BUFFER, tail * 2));
      grown.set(this.buf.subarray(this.pos, this.len), 0);
      own = this.own = grown;
      this.ownView = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
    } else if (this.buf !== own) {
      own.set(this.buf.subarray(this.pos, this.len), 0);
    } else {
      own.copyWithin(0, this.pos, this.len);
    }
    this.consumed += this.pos;
    this.buf = own;
    this.view = this.ownView!;
    this.pos = 0;
    this.len = tail;
    const n = read(own.subarray(tail));
    this.len += n;
    if (n > 0) this.parse();
    return n;
  }

  private parse(): void {
    if (this.kind === null && !this.start()) return;
    if (this.kind === 'pcap') this.pcapRecords();
    else this.pcapngBlocks();
  }

  /** End of input: anything left over is a truncated record or block. */
  finish(): void {
    const left = this.len - this.pos;
    if (this.kind === null) {
      if (left === 0) throw new CaptureFormatError('empty file', 0, 0);
      throw new CaptureFormatError('file shorter than a capture header', 0, 0);
    }
    if (left > 0) {
      const what = this.kind === 'pcap' ? 'packet record' : 'block';
      throw new CaptureFormatError(`truncated ${what} (${left} octets of it present)`, this.offset(), this.packets);
    }
  }

  private offset(): number {
    return this.consumed + this.pos;
  }

  private fail(message: string): never {
    throw new CaptureFormatError(message, this.offset(), this.packets);
  }

  /** Reads the file header once enough octets are there; false while waiting for more. */
  private start(): boolean {
    const b = this.buf.subarray(0, this.len);
    // Both formats' headers are at least 24 octets: anything shorter is no capture, whatever its first octets.
    if (b.length < 24) return false;
    const kind = detectCaptureKind(b);
    if (kind === null) this.fail('not a pcap or pcapng file (bad magic number)');
    if (kind === 'pcapng') {
      this.kind = 'pcapng';
      return true;
    }
    const le = this.view.getUint32(0, true);
    this.little = le === PCAP_MAGIC_US || le === PCAP_MAGIC_NS;
    this.pcapNsPerFrac = this.view.getUint32(0, this.little) === PCAP_MAGIC_NS ? 1 : 1000;
    this.pcapLinkType = this.view.getUint32(20, this.little) & 0x0fffffff;
    this.pos = 24;
    this.kind = 'pcap';
    return true;
  }

  private pcapRecords(): void {
    const v = this.view;
    const little = this.little;
    const end = this.len;
    const nsPerFrac = this.pcapNsPerFrac;
    let pos = this.pos;
    while (pos + 16 <= end) {
      const capLen = v.getUint32(pos + 8, little);
      if (capLen > MAX_RECORD) {
        this.pos = pos;
        this.fail(`corrupt packet record: ${capLen} captured octets`);
      }
      if (pos + 16 + capLen > end) break;
      const sec = v.getUint32(pos, little);
      const fracNs = v.getUint32(pos + 4, little) * nsPerFrac;
      if (this.baseNs === null) {
        this.baseNs = BigInt(sec) * 1_000_000_000n + BigInt(fracNs);
        this.pcapBaseSec = sec;
        this.pcapBaseFracNs = fracNs;
      }
      this.packets++;
      this.pos = pos + 16 + capLen;
      this.sink(this.pcapLinkType, sec - this.pcapBaseSec, fracNs - this.pcapBaseFracNs, this.buf, pos + 16, capLen, v.getUint32(pos + 12, little));
      pos = this.pos;
    }
    this.pos = pos;
  }

  private pcapngBlocks(): void {
    const end = this.len;
    for (;;) {
      const pos = this.pos;
      if (pos + 12 > end) return;
      const typeLe = this.view.getUint32(pos, true);
      if (typeLe === PCAPNG_SHB) {
        // A new section: its own byte order and interfaces.
        const bom = this.view.getUint32(pos + 8, true);
        if (bom === PCAPNG_BYTE_ORDER) this.little = true;
        else if (bom === 0x4d3c2b1a) this.little = false;
        else this.fail('corrupt section header (bad byte-order magic)');
        this.interfaces = [];
      }
      const little = this.little;
      const type = this.view.getUint32(pos, little);
      const len = this.view.getUint32(pos + 4, little);
      if (len < 12 || len % 4 !== 0 || len > MAX_BLOCK) this.fail(`corrupt block (type ${type}, length ${len})`);
      if (pos + len > end) return;
      if (this.view.getUint32(pos + len - 4, little) !== len) this.fail(`corrupt block (type ${type}: trailing length differs from ${len})`);
      this.pos = pos + len;
      if (type === BLOCK_EPB) this.timedPacket(pos, len, false);
      else if (type === BLOCK_IDB) this.interfaceDescription(pos, len);
      else if (type === BLOCK_SPB) this.simplePacket(pos, len);
      else if (type === BLOCK_PB) this.timedPacket(pos, len, true);
    }
  }

  private interfaceDescription(pos: number, len: number): void {
    const v = this.view;
    const little = this.little;
    if (len < 20) this.failAt(pos, 'corrupt interface description block');
    const iface: Interface = {
      linkType: v.getUint16(pos + 8, little),
      snapLen: v.getUint32(pos + 12, little),
      unitsPerSecond: 1e6,
      nsPerUnit: 1000,
      offsetSeconds: 0,
      baseHi: 0,
      baseLo: 0,
      baseRelNs: 0,
      seen: false,
    };
    let o = pos + 16;
    const optEnd = pos + len - 4;
    while (o + 4 <= optEnd) {
      const code = v.getUint16(o, little);
      const olen = v.getUint16(o + 2, little);
      if (code === 0) break;
      if (o + 4 + olen > optEnd) this.failAt(pos, 'corrupt interface description block (option overruns it)');
      if (code === OPT_IF_TSRESOL && olen >= 1) {
        const r = this.buf[o + 4]!;
        iface.unitsPerSecond = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** r;
        const ns = 1e9 / iface.unitsPerSecond;
        iface.nsPerUnit = Number.isInteger(ns) ? ns : 0;
      } else if (code === OPT_IF_TSOFFSET && olen >= 8) {
        const hi = v.getInt32(o + 4 + (little ? 4 : 0), little);
        const lo = v.getUint32(o + 4 + (little ? 0 : 4), little);
        iface.offsetSeconds = hi * TWO_32 + lo;
      }
      o += 4 + ((olen + 3) & ~3);
    }
    this.interfaces.push(iface);
  }

  private failAt(pos: number, message: string): never {
    this.pos = pos;
    this.fail(message);
  }

  private iface(id: number, pos: number): Interface {
    const i = this.interfaces[id];
    if (!i) this.failAt(pos, `packet block names interface ${id}, which the section does not describe`);
    return i;
  }

  /** ns since the capture base for a timestamp of `hi:lo` units on `iface`. */
  private relativeNs(iface: Interface, hi: number, lo: number): number {
    if (!iface.seen) {
      iface.seen = true;
      iface.baseHi = hi;
      iface.baseLo = lo;
      const units = (BigInt(hi) << 32n) | BigInt(lo);
      const per = BigInt(iface.unitsPerSecond);
      const ns = (units / per) * 1_000_000_000n + ((units % per) * 1_000_000_000n) / per + BigInt(iface.offsetSeconds) * 1_000_000_000n;
      if (this.baseNs === null) this.baseNs = ns;
      iface.baseRelNs = Number(ns - this.baseNs);
    }
    // The difference from the interface's first timestamp is small enough to be exact in a double.
    const units = (hi - iface.baseHi) * TWO_32 + (lo - iface.baseLo);
    return iface.baseRelNs + (iface.nsPerUnit ? units * iface.nsPerUnit : (units / iface.unitsPerSecond) * 1e9);
  }

  private deliver(linkType: number, relNs: number, at: number, capLen: number, origLen: number): void {
    this.lastRelNs = relNs;
    this.packets++;
    const sec = Math.floor(relNs / 1e9);
    this.sink(linkType, sec, relNs - sec * 1e9, this.buf, at, capLen, origLen);
  }

  /**
   * Enhanced and obsolete packet blocks share their layout after the
   * interface id (32 bits in the one, 16 bits and a drop count in the other).
   */
  private timedPacket(pos: number, len: number, shortInterfaceId: boolean): void {
    const v = this.view;
    const little = this.little;
    const what = shortInterfaceId ? 'packet block' : 'enhanced packet block';
    if (len < 32) this.failAt(pos, `corrupt ${what}`);
    const iface = this.iface(shortInterfaceId ? v.getUint16(pos + 8, little) : v.getUint32(pos + 8, little), pos);
    const capLen = v.getUint32(pos + 20, little);
    if (28 + capLen + 4 > len) this.failAt(pos, `corrupt ${what} (${capLen} captured octets in a ${len}-octet block)`);
    const relNs = this.relativeNs(iface, v.getUint32(pos + 12, little), v.getUint32(pos + 16, little));
    this.deliver(iface.linkType, relNs, pos + 28, capLen, v.getUint32(pos + 24, little));
  }

  /** No timestamp of its own: it is given the previous packet's time. */
  private simplePacket(pos: number, len: number): void {
    const iface = this.iface(0, pos);
    const origLen = this.view.getUint32(pos + 8, this.little);
    let capLen = Math.min(origLen, len - 16);
    if (iface.snapLen > 0) capLen = Math.min(capLen, iface.snapLen);
    if (this.baseNs === null) this.baseNs = 0n;
    this.deliver(iface.linkType, this.lastRelNs, pos + 12, capLen, origLen);
  }
}
