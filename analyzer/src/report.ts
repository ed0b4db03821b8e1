/**
 * The diagnostician's report: per flow and per host pair, RFC 8250 metrics
 * with roles resolved (client/server), distributions and time series. Plain
 * data: the JSON output is this object, and the table, CSV and HTML outputs
 * are drawn from it, so every output shows the same numbers.
 */
import { FORMAT_NAMES, type Conversation, type DecryptionCounts, type Direction, type FlowEngine } from './flow-metrics.js';
import { Samples, Series, type Distribution, type SeriesRow } from './samples.js';

export interface DirectionLoss {
  packets: number;
  pdmPackets: number;
  /** PSNs between the first and highest seen. */
  expected: number;
  /** PSNs never seen at the capture point. */
  lost: number;
  /** lost / expected, or null without PSNs. */
  lossRatio: number | null;
  reordered: number;
  duplicates: number;
  malformed: number;
  /** Encrypted options whose metrics stayed closed. */
  sealed: number;
}

export interface SeriesPoint {
  /** Bin start, seconds since the capture's first packet. */
  t: number;
  rtt: number | null;
  rttMax: number | null;
  serverDelay: number | null;
  serverDelayMax: number | null;
  networkRtt: number | null;
  lostClientToServer: number;
  lostServerToClient: number;
}

export interface MetricsBlock {
  /** Round-trip time: DeltaTLS of the client's packets (ns). */
  rtt: Distribution;
  /** Server delay: DeltaTLR of the server's packets (ns). */
  serverDelay: Distribution;
  /** Client delay: DeltaTLR of the client's packets (ns). */
  clientDelay: Distribution;
  /** Round-trip time less the server delay of the packet it answers (ns). */
  networkRtt: Distribution;
  clientToServer: DirectionLoss;
  serverToClient: DirectionLoss;
  series: SeriesPoint[];
}

export interface FlowSummary extends MetricsBlock {
  id: number;
  protocol: string;
  client: string;
  clientPort: number;
  server: string;
  serverPort: number;
  formats: string[];
  firstSeen: number;
  lastSeen: number;
}

export interface HostPairSummary extends MetricsBlock {
  client: string;
  server: string;
  flows: number;
}

export interface AnalysisReport {
  capture: {
    file: string;
    format: string;
    packets: number;
    ipv6Packets: number;
    pdmPackets: number;
    /** Time of the first packet (ISO 8601, UTC), null for an empty capture. */
    start: string | null;
    durationSeconds: number;
    /** Width of a time-series bin, seconds. */
    binSeconds: number;
    /** Set when the file ended in a damaged record: the report covers what came before it. */
    error: string | null;
  };
  decryption: DecryptionCounts | null;
  flows: FlowSummary[];
  hostPairs: HostPairSummary[];
}

export function protocolName(p: number): string {
  return p === 6 ? 'tcp' : p === 17 ? 'udp' : p === 58 ? 'icmpv6' : `ip-${p}`;
}

function loss(d: Direction): DirectionLoss {
  const expected = d.expected;
  return {
    packets: d.packets,
    pdmPackets: d.pdm,
    expected,
    lost: d.lost,
    lossRatio: expected > 0 ? d.lost / expected : null,
    reordered: d.reordered,
    duplicates: d.duplicates,
    malformed: d.malformed,
    sealed: d.sealed,
  };
}

function addLoss(a: DirectionLoss, b: DirectionLoss): DirectionLoss {
  const expected = a.expected + b.expected;
  const lost = a.lost + b.lost;
  return {
    packets: a.packets + b.packets,
    pdmPackets: a.pdmPackets + b.pdmPackets,
    expected,
    lost,
    lossRatio: expected > 0 ? lost / expected : null,
    reordered: a.reordered + b.reordered,
    duplicates: a.duplicates + b.duplicates,
    malformed: a.malformed + b.malformed,
    sealed: a.sealed + b.sealed,
  };
}

function seriesPoints(client: Series, server: Series): SeriesPoint[] {
  const c = client.rows();
  const s = server.rows();
  const n = Math.max(c.length, s.length);
  const empty: SeriesRow = { t: 0, packets: 0, tls: null, tlsMax: null, tlr: null, tlrMax: null, net: null, lost: 0, duplicates: 0 };
  const width = client.width;
  const out: SeriesPoint[] = [];
  for (let i = 0; i < n; i++) {
    const cr = c[i] ?? empty;
    const sr = s[i] ?? empty;
    if (cr.packets === 0 && sr.packets === 0) continue;
    out.push({
      t: (i * width) / 1e9,
      rtt: cr.tls,
      rttMax: cr.tlsMax,
      serverDelay: sr.tlr,
      serverDelayMax: sr.tlrMax,
      networkRtt: cr.net,
      lostClientToServer: cr.lost,
      lostServerToClient: sr.lost,
    });
  }
  return out;
}

/** Distributions kept alongside the report for plots (CDFs) but not part of the JSON. */
export interface ReportSamples {
  rtt: Samples;
  serverDelay: Samples;
}

export interface BuiltReport {
  report: AnalysisReport;
  /** Per flow id and per host pair index, the samples behind the distributions. */
  flowSamples: Map<number, ReportSamples>;
  pairSamples: ReportSamples[];
}

export function buildReport(engine: FlowEngine, info: { file: string; format: string; baseNs: bigint | null; error: string | null }, withKeys: boolean): BuiltReport {
  engine.flush();
  const flows: FlowSummary[] = [];
  const flowSamples = new Map<number, ReportSamples>();
  const pairs = new Map<string, { conv: Conversation[]; flow: FlowSummary }>();
  for (const c of engine.conversations) {
    const cl = c.client;
    const sv = c.server;
    // Flows without any PDM option are not what this tool reports on.
    if (cl.pdm + sv.pdm + cl.malformed + sv.malformed === 0) continue;
    const formats = FORMAT_NAMES.filter(([bit]) => (cl.formats | sv.formats) & bit).map(([, name]) => name);
    const flow: FlowSummary = {
      id: c.id,
      protocol: protocolName(c.protocol),
      client: c.clientIsA ? c.addrA : c.addrB,
      clientPort: c.clientIsA ? c.portA : c.portB,
      server: c.clientIsA ? c.addrB : c.addrA,
      serverPort: c.clientIsA ? c.portB : c.portA,
      formats,
      firstSeen: Math.min(cl.packets ? cl.firstNs : Infinity, sv.packets ? sv.firstNs : Infinity) / 1e9,
      lastSeen: Math.max(cl.lastNs, sv.lastNs) / 1e9,
      rtt: cl.tls.summary(),
      serverDelay: sv.tlr.summary(),
      clientDelay: cl.tlr.summary(),
      networkRtt: cl.net.summary(),
      clientToServer: loss(cl),
      serverToClient: loss(sv),
      series: seriesPoints(cl.series, sv.series),
    };
    flows.push(flow);
    flowSamples.set(c.id, { rtt: cl.tls, serverDelay: sv.tlr });
    const key = `${flow.client} ${flow.server}`;
    const p = pairs.get(key);
    if (p) p.conv.push(c);
    else pairs.set(key, { conv: [c], flow });
  }

  const hostPairs: HostPairSummary[] = [];
  const pairSamples: ReportSamples[] = [];
  for (const p of pairs.values()) {
    const { client, server, rtt, serverDelay, clientDelay, networkRtt, clientToServer, serverToClient, series } = p.flow;
    if (p.conv.length === 1) {
      // A pair of one flow has that flow's figures: merging copies would cost a flow's memory and time again.
      hostPairs.push({ client, server, flows: 1, rtt, serverDelay, clientDelay, networkRtt, clientToServer, serverToClient, series });
      pairSamples.push(flowSamples.get(p.conv[0]!.id)!);
      continue;
    }
    const merged = { rtt: new Samples(), serverDelay: new Samples(), clientDelay: new Samples(), net: new Samples() };
    const cSeries = new Series(engine.clock);
    const sSeries = new Series(engine.clock);
    let c2s: DirectionLoss | null = null;
    let s2c: DirectionLoss | null = null;
    for (const c of p.conv) {
      merged.rtt.merge(c.client.tls);
      merged.serverDelay.merge(c.server.tlr);
      merged.clientDelay.merge(c.client.tlr);
      merged.net.merge(c.client.net);
      cSeries.merge(c.client.series);
      sSeries.merge(c.server.series);
      c2s = c2s ? addLoss(c2s, loss(c.client)) : loss(c.client);
      s2c = s2c ? addLoss(s2c, loss(c.server)) : loss(c.server);
    }
    hostPairs.push({
      client,
      server,
      flows: p.conv.length,
      rtt: merged.rtt.summary(),
      serverDelay: merged.serverDelay.summary(),
      clientDelay: merged.clientDelay.summary(),
      networkRtt: merged.net.summary(),
      clientToServer: c2s!,
      serverToClient: s2c!,
      series: seriesPoints(cSeries, sSeries),
    });
    pairSamples.push({ rtt: merged.rtt, serverDelay: merged.serverDelay });
  }

  const start = info.baseNs === null ? null : new Date(Number(info.baseNs / 1_000_000n)).toISOString();
  return {
    report: {
      capture: {
        file: info.file,
        format: info.format,
        packets: engine.packets,
        ipv6Packets: engine.ipv6,
        pdmPackets: engine.pdm,
        start,
        durationSeconds: engine.lastNs / 1e9,
        binSeconds: engine.clock.binNs / 1e9,
        error: info.error,
      },
      decryption: withKeys ? { ...engine.decryption } : null,
      flows,
      hostPairs,
    },
    flowSamples,
    pairSamples,
  };
}
