/**
 * Flow-level analysis of decoded PDM records: sequence continuity, PSNLR
 * consistency, Global Pointer monotonicity and the agreement of DeltaTLR and
 * DeltaTLS with the capture's own timestamps. Both a diagnostician's report
 * (loss, reordering, RTT, server delay) and the lab's acceptance checks.
 */
import type { PdmRecord } from './decode.js';

export interface FlowReport {
  key: string;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  protocol: number;
  packets: number;
  withPdm: number;
  formats: string[];
  /** Option present but undecodable or unopenable. */
  errors: number;
  /** Packets whose PSNTP was not the previous one plus one (lost before the capture point, or reordered). */
  psnGaps: number;
  /** Packets whose PSNTP is behind the highest seen: reordering or duplication. */
  psnReordered: number;
  /** PSNLR equals a PSNTP the reverse flow had sent before this packet (or 0 before any). */
  psnlrValid: number;
  psnlrInvalid: number;
  /** PSNLR equals the reverse flow's latest PSNTP at this capture point. */
  psnlrExact: number;
  /** Largest |DeltaTLR − capture estimate| and |DeltaTLS − capture estimate| in ns (null: nothing to compare). */
  deltaTlrMaxErrorNs: number | null;
  deltaTlsMaxErrorNs: number | null;
  deltaSamples: number;
  /** DeltaTLS values (the peer's answer time seen by this sender: RTT on a client), ns. */
  deltaTlsNs: number[];
  /** DeltaTLR values (time since the last received packet: server delay on a server), ns. */
  deltaTlrNs: number[];
}

export interface GlobalPointerReport {
  source: string;
  packets: number;
  /** Decreases or repeats of the pointer for this source. */
  violations: number;
  first: number;
  last: number;
}

export interface CaptureReport {
  flows: FlowReport[];
  globalPointers: GlobalPointerReport[];
}

function flowKey(r: { src: string; dst: string; sport: number; dport: number; protocol: number }): string {
  return `${r.protocol} [${r.src}]:${r.sport} > [${r.dst}]:${r.dport}`;
}

function reverseKey(r: PdmRecord): string {
  return flowKey({ src: r.dst, dst: r.src, sport: r.dport, dport: r.sport, protocol: r.protocol });
}

interface FlowState {
  report: FlowReport;
  lastPsn: number | null;
  highestPsn: number | null;
  psnModulus: number;
  /** Every PSNTP this flow has carried so far, for PSNLR validation of the reverse flow. */
  sentPsns: Set<number>;
  lastPsnSent: number | null;
  lastTimeNs: bigint | null;
  /** Capture time of this flow's last packet before the reverse flow's latest packet. */
  sentBefore: Array<bigint>;
}

function newFlow(r: PdmRecord): FlowState {
  return {
    report: {
      key: flowKey(r),
      src: r.src,
      dst: r.dst,
      sport: r.sport,
      dport: r.dport,
      protocol: r.protocol,
      packets: 0,
      withPdm: 0,
      formats: [],
      errors: 0,
      psnGaps: 0,
      psnReordered: 0,
      psnlrValid: 0,
      psnlrInvalid: 0,
      psnlrExact: 0,
      deltaTlrMaxErrorNs: null,
      deltaTlsMaxErrorNs: null,
      deltaSamples: 0,
      deltaTlsNs: [],
      deltaTlrNs: [],
    },
    lastPsn: null,
    highestPsn: null,
    psnModulus: 2 ** 32,
    sentPsns: new Set(),
    lastPsnSent: null,
    lastTimeNs: null,
    sentBefore: [],
  };
}

function maxAbs(current: number | null, value: number): number {
  const v = Math.abs(value);
  return current === null || v > current ? v : current;
}

/** The latest timestamp in `times` that is strictly before `t`, or null. */
function lastBefore(times: bigint[], t: bigint): bigint | null {
  let best: bigint | null = null;
  for (const x of times) if (x < t && (best === null || x > best)) best = x;
  return best;
}

export function analyzeFlows(records: PdmRecord[]): CaptureReport {
  const flows = new Map<string, FlowState>();
  const pointers = new Map<string, GlobalPointerReport>();

  for (const r of records) {
    const key = flowKey(r);
    let f = flows.get(key);
    if (!f) {
      f = newFlow(r);
      flows.set(key, f);
    }
    const rep = f.report;
    rep.packets++;
    const reverse = flows.get(reverseKey(r));
    if (r.error) rep.errors++;
    const o = r.option;
    if (o && (o.format === 'pdmv2-clear' || o.format === 'pdm-v1' || o.format === 'pdmv2-draft-clear')) {
      rep.withPdm++;
      if (!rep.formats.includes(o.format)) rep.formats.push(o.format);
      f.psnModulus = o.format === 'pdmv2-clear' ? 2 ** 32 : 2 ** 16;

      if (f.lastPsn !== null && o.psntp !== (f.lastPsn + 1) % f.psnModulus) rep.psnGaps++;
      if (f.highestPsn !== null) {
        const ahead = (o.psntp - f.highestPsn + f.psnModulus) % f.psnModulus;
        if (ahead === 0 || ahead > f.psnModulus / 2) rep.psnReordered++;
        else f.highestPsn = o.psntp;
      } else {
        f.highestPsn = o.psntp;
      }
      f.lastPsn = o.psntp;

      if (!reverse || reverse.sentPsns.size === 0) {
        if (o.psnlr === 0) rep.psnlrValid++;
        else rep.psnlrInvalid++;
      } else if (reverse.sentPsns.has(o.psnlr) || o.psnlr === 0) {
        rep.psnlrValid++;
        if (o.psnlr === reverse.lastPsnSent) rep.psnlrExact++;
      } else {
        rep.psnlrInvalid++;
      }

      const tlr = r.deltaTlrNs ?? 0;
      const tls = r.deltaTlsNs ?? 0;
      if (o.deltaTlr !== 0 || o.scaleDtlr !== 0) rep.deltaTlrNs.push(tlr);
      if (o.deltaTls !== 0 || o.scaleDtls !== 0) rep.deltaTlsNs.push(tls);
      // Compare with the capture only where the packet's PSNLR names the reverse packet
      // this capture saw last: then both sides refer to the same receive event.
      if (reverse && reverse.lastTimeNs !== null && o.psnlr === reverse.lastPsnSent && o.psnlr !== 0) {
        const expectedTlr = Number(r.timestampNs - reverse.lastTimeNs);
        rep.deltaTlrMaxErrorNs = maxAbs(rep.deltaTlrMaxErrorNs, tlr - expectedTlr);
        const ownBefore = lastBefore(f.sentBefore, reverse.lastTimeNs);
        if (ownBefore !== null && tls !== 0) {
          const expectedTls = Number(reverse.lastTimeNs - ownBefore);
          rep.deltaTlsMaxErrorNs = maxAbs(rep.deltaTlsMaxErrorNs, tls - expectedTls);
        }
        rep.deltaSamples++;
      }
      f.sentPsns.add(o.psntp);
      f.lastPsnSent = o.psntp;

      if (o.format !== 'pdm-v1') {
        let gp = pointers.get(r.src);
        if (!gp) {
          gp = { source: r.src, packets: 0, violations: 0, first: o.globalPointer, last: o.globalPointer };
          pointers.set(r.src, gp);
        } else if (o.globalPointer <= gp.last) {
          gp.violations++;
        }
        gp.packets++;
        gp.last = Math.max(gp.last, o.globalPointer);
      }
    }
    f.lastTimeNs = r.timestampNs;
    f.sentBefore.push(r.timestampNs);
    if (f.sentBefore.length > 64) f.sentBefore.shift();
  }
  return { flows: [...flows.values()].map((f) => f.report), globalPointers: [...pointers.values()] };
}

function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const fmtNs = (ns: number | null): string =>
  ns === null ? '-' : ns >= 1e6 ? `${(ns / 1e6).toFixed(3)} ms` : ns >= 1e3 ? `${(ns / 1e3).toFixed(1)} us` : `${ns.toFixed(0)} ns`;

export function formatFlowReport(f: FlowReport): string {
  return [
    `${f.key}: ${f.packets} packets, ${f.withPdm} with PDM (${f.formats.join(',') || 'none'})`,
    `  psn gaps ${f.psnGaps}, reordered ${f.psnReordered}, psnlr valid ${f.psnlrValid} (exact ${f.psnlrExact}) invalid ${f.psnlrInvalid}, errors ${f.errors}`,
    `  median DeltaTLR ${fmtNs(median(f.deltaTlrNs))}, median DeltaTLS ${fmtNs(median(f.deltaTlsNs))}; vs capture (${f.deltaSamples} samples): max error TLR ${fmtNs(f.deltaTlrMaxErrorNs)}, TLS ${fmtNs(f.deltaTlsMaxErrorNs)}`,
  ].join('\n');
}
