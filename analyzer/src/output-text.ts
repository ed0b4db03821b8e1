/**
 * The report as a terminal table (the default) and as CSV. Durations print in
 * the unit that keeps them readable; CSV keeps raw nanoseconds and ratios.
 */
import type { AnalysisReport, DirectionLoss, MetricsBlock } from './report.js';
import type { Distribution } from './samples.js';

export function formatDuration(ns: number | null): string {
  if (ns === null) return '-';
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(3)} s`;
  if (ns >= 1e6) return `${(ns / 1e6).toFixed(3)} ms`;
  if (ns >= 1e3) return `${(ns / 1e3).toFixed(1)} µs`;
  return `${ns.toFixed(0)} ns`;
}

export function formatRatio(r: number | null): string {
  return r === null ? '-' : `${(r * 100).toFixed(2)} %`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + ' '.repeat(n - s.length);
}

function lpad(s: string, n: number): string {
  return s.length >= n ? s : ' '.repeat(n - s.length) + s;
}

function distributionLine(name: string, d: Distribution): string {
  const cells = [d.p50, d.p95, d.p99, d.max].map((v) => lpad(formatDuration(v), 12)).join('');
  return `  ${pad(name, 14)}${cells}${lpad(String(d.count), 10)}`;
}

function lossLine(name: string, l: DirectionLoss): string {
  const sealed = l.sealed ? `, ${l.sealed} sealed (no key)` : '';
  const malformed = l.malformed ? `, ${l.malformed} malformed` : '';
  return `  ${pad(name, 16)}${l.packets} packets, lost ${l.lost} of ${l.expected} (${formatRatio(l.lossRatio)}), reordered ${l.reordered}, duplicates ${l.duplicates}${sealed}${malformed}`;
}

function metricsLines(m: MetricsBlock): string[] {
  return [
    `  ${pad('', 14)}${['p50', 'p95', 'p99', 'max'].map((h) => lpad(h, 12)).join('')}${lpad('samples', 10)}`,
    distributionLine('round trip', m.rtt),
    distributionLine('server delay', m.serverDelay),
    distributionLine('client delay', m.clientDelay),
    distributionLine('network RTT', m.networkRtt),
    lossLine('client→server', m.clientToServer),
    lossLine('server→client', m.serverToClient),
  ];
}

export function formatTable(r: AnalysisReport): string {
  const c = r.capture;
  const out: string[] = [];
  out.push(
    `capture ${c.file} (${c.format}): ${c.packets} packets, ${c.ipv6Packets} IPv6, ${c.pdmPackets} with PDM, ${c.durationSeconds.toFixed(3)} s from ${c.start ?? '-'}`,
  );
  if (r.decryption) {
    const d = r.decryption;
    out.push(`encrypted options: ${d.opened} opened, ${d.tagMismatch} TAG_MISMATCH, ${d.noKey} NO_KEY${d.other ? `, ${d.other} malformed` : ''}`);
  }
  if (c.error) out.push(`warning: capture damaged, report covers what came before: ${c.error}`);
  out.push('');
  if (r.flows.length === 0) out.push('no flow carries a PDM option');
  for (const f of r.flows) {
    out.push(
      `flow ${f.id} ${f.protocol} [${f.client}]:${f.clientPort} → [${f.server}]:${f.serverPort}  ${f.formats.join(',')}  ${f.firstSeen.toFixed(3)}–${f.lastSeen.toFixed(3)} s`,
    );
    out.push(...metricsLines(f), '');
  }
  if (r.hostPairs.length > 0 && r.hostPairs.length < r.flows.length) {
    out.push('host pairs');
    for (const p of r.hostPairs) {
      out.push(`pair ${p.client} → ${p.server}  ${p.flows} flows`);
      out.push(...metricsLines(p), '');
    }
  }
  return `${out.join('\n').trimEnd()}\n`;
}

const DIST_FIELDS = ['count', 'p50', 'p95', 'p99', 'max'] as const;
const DISTS = [
  ['rtt', 'rtt'],
  ['serverDelay', 'server_delay'],
  ['clientDelay', 'client_delay'],
  ['networkRtt', 'network_rtt'],
] as const;
const LOSS_FIELDS = ['packets', 'pdmPackets', 'expected', 'lost', 'lossRatio', 'reordered', 'duplicates', 'malformed', 'sealed'] as const;
const LOSS_NAMES: Record<(typeof LOSS_FIELDS)[number], string> = {
  packets: 'packets',
  pdmPackets: 'pdm_packets',
  expected: 'expected',
  lost: 'lost',
  lossRatio: 'loss_ratio',
  reordered: 'reordered',
  duplicates: 'duplicates',
  malformed: 'malformed',
  sealed: 'sealed',
};

function csvCell(v: string | number | null): string {
  if (v === null) return '';
  if (typeof v === 'number') return String(v);
  return /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** One row per flow, then one per host pair (column `kind`); durations in ns. */
export function formatCsv(r: AnalysisReport): string {
  const header = ['kind', 'flow', 'protocol', 'client', 'client_port', 'server', 'server_port', 'formats', 'flows'];
  for (const [, n] of DISTS) for (const f of DIST_FIELDS) header.push(`${n}_${f}${f === 'count' ? '' : '_ns'}`);
  for (const dir of ['c2s', 's2c']) for (const f of LOSS_FIELDS) header.push(`${LOSS_NAMES[f]}_${dir}`);
  const rows = [header.join(',')];
  const metrics = (m: MetricsBlock): Array<number | null> => {
    const cells: Array<number | null> = [];
    for (const [k] of DISTS) for (const f of DIST_FIELDS) cells.push(m[k][f]);
    for (const l of [m.clientToServer, m.serverToClient]) for (const f of LOSS_FIELDS) cells.push(l[f]);
    return cells;
  };
  for (const f of r.flows) {
    rows.push([csvCell('flow'), f.id, f.protocol, f.client, f.clientPort, f.server, f.serverPort, csvCell(f.formats.join(' ')), 1, ...metrics(f)].map((v) => csvCell(v as string | number | null)).join(','));
  }
  for (const p of r.hostPairs) {
    rows.push(['pair', null, null, p.client, null, p.server, null, null, p.flows, ...metrics(p)].map((v) => csvCell(v)).join(','));
  }
  return `${rows.join('\n')}\n`;
}
