/**
 * Decrypted export: every encrypted PDMv2 option (36 octets) the keys open
 * becomes its clear form (24 octets, same Version|Epoch and PSNTP) followed by
 * a PadN option of 12 octets, in place. Packet lengths, header lengths, the
 * clear form's 8n+4 alignment and every other octet of the file stay as they
 * were (upper-layer checksums do not cover the Destination Options header),
 * so any pcap tool, Wireshark included, reads the metrics. Pure: works on the
 * file's bytes in memory.
 */
import { encodeClear } from '../../core/src/wire/options.js';
import type { FiveTuple } from '../../core/src/wire/ipv6.js';
import { CaptureFormatError, CaptureParser } from './capture-format.js';
import { openWithKeys, type KeySource } from './decode.js';
import { FrameScan, scanFrame } from './packet-scan.js';

const ENCRYPTED_OPTION = 36;
const CLEAR_OPTION = 24;
const OPT_PADN = 1;

export interface DecryptExportResult {
  packets: number;
  encrypted: number;
  opened: number;
  tagMismatch: number;
  noKey: number;
  other: number;
  /** Damage in the input: packets before it are exported, the rest of the file is copied as it was. */
  error: string | null;
}

/** Rewrites `file` (a whole pcap or pcapng) in place. */
export function decryptCaptureInPlace(file: Uint8Array, keys: KeySource): DecryptExportResult {
  const r: DecryptExportResult = { packets: 0, encrypted: 0, opened: 0, tagMismatch: 0, noKey: 0, other: 0, error: null };
  const s = new FrameScan();
  const parser = new CaptureParser((linkType, _relSec, _relNsInSec, d, off, capLen) => {
    r.packets++;
    if (!scanFrame(d, off, capLen, linkType, s) || s.pdm < 0 || d[s.pdm + 1] !== ENCRYPTED_OPTION - 2) return;
    r.encrypted++;
    const o = s.pdm;
    const tuple: FiveTuple = { src: d.slice(s.ip + 8, s.ip + 24), dst: d.slice(s.ip + 24, s.ip + 40), sport: s.sport, dport: s.dport, protocol: s.protocol };
    const epoch = ((d[o + 2]! << 8) | d[o + 3]!) & 0xfff;
    const attempt = openWithKeys(keys(tuple, epoch), d.subarray(o, o + ENCRYPTED_OPTION));
    if (!attempt.ok) {
      if (attempt.error === 'TAG_MISMATCH') r.tagMismatch++;
      else if (attempt.error === 'NO_KEY') r.noKey++;
      else r.other++;
      return;
    }
    r.opened++;
    const { format: _format, ...fields } = attempt.value;
    d.set(encodeClear(fields), o);
    d[o + CLEAR_OPTION] = OPT_PADN;
    d[o + CLEAR_OPTION + 1] = ENCRYPTED_OPTION - CLEAR_OPTION - 2;
    d.fill(0, o + CLEAR_OPTION + 2, o + ENCRYPTED_OPTION);
  });
  try {
    // One chunk: the sink's views are the file itself, so edits land in it.
    parser.push(file);
    parser.finish();
  } catch (err) {
    if (!(err instanceof CaptureFormatError)) throw err;
    r.error = err.message;
  }
  return r;
}
