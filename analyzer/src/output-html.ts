/**
 * The report as one self-contained HTML file: inline CSS and inline SVG
 * plots, no script and nothing fetched, so it opens anywhere, offline.
 * Every number cell carries its raw value in data-value (ns, ratio or count)
 * and its JSON path in data-field, so a test can hold the page to the JSON.
 */
import type { AnalysisReport, BuiltReport, DirectionLoss, FlowSummary, MetricsBlock, SeriesPoint } from './report.js';
import type { Samples } from './samples.js';
import { formatDuration, formatRatio } from './output-text.js';

/** Flows beyond this many (the busiest first) get a table row but no plots, to keep the file small. */
const MAX_PLOTTED = 24;

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

interface Line {
  name: string;
  color: string;
  points: Array<[number, number | null]>;
  dashed?: boolean;
}

const W = 440;
const H = 240;
const MARGIN = { l: 58, r: 12, b: 36 };

function niceMax(v: number): number {
  if (!(v > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 1.2, 1.6, 2, 2.4, 3, 4, 5, 6, 8, 10]) if (m * p >= v * (1 - 1e-12)) return m * p;
  return 10 * p;
}

function tickLabel(v: number): string {
  if (v === 0) return '0';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  if (Math.abs(v) >= 1) return String(Number(v.toFixed(2)));
  return String(Number(v.toPrecision(2)));
}

/** A line plot (or bars when `bars`) with axes; x and y in the units named by the labels. */
function plot(title: string, xLabel: string, yLabel: string, lines: Line[], opts: { bars?: boolean; xMax?: number; yMax?: number } = {}): string {
  const xs = lines.flatMap((l) => l.points.map((p) => p[0]));
  const ys = lines.flatMap((l) => l.points.map((p) => p[1]).filter((y): y is number => y !== null));
  const xMax = opts.xMax ?? niceMax(Math.max(0, ...xs));
  const yMax = opts.yMax ?? niceMax(Math.max(0, ...ys));
  // The legend sits above the plot area, one line per series, so it never hides data.
  const M = { ...MARGIN, t: 26 + 13 * lines.length };
  const pw = W - M.l - M.r;
  const ph = H - M.t - M.b;
  const X = (x: number): number => M.l + (x / xMax) * pw;
  const Y = (y: number): number => M.t + ph - (y / yMax) * ph;
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(title)}">`);
  parts.push(`<text x="${M.l}" y="16" class="pt">${esc(title)}</text>`);
  for (let i = 0; i <= 4; i++) {
    const yv = (yMax * i) / 4;
    const y = Y(yv).toFixed(1);
    parts.push(`<line x1="${M.l}" x2="${W - M.r}" y1="${y}" y2="${y}" class="grid"/><text x="${M.l - 4}" y="${y}" class="yt">${tickLabel(yv)}</text>`);
    const xv = (xMax * i) / 4;
    const x = X(xv).toFixed(1);
    parts.push(`<text x="${x}" y="${H - M.b + 14}" class="xt">${tickLabel(xv)}</text>`);
  }
  parts.push(`<line x1="${M.l}" x2="${M.l}" y1="${M.t}" y2="${M.t + ph}" class="axis"/><line x1="${M.l}" x2="${W - M.r}" y1="${M.t + ph}" y2="${M.t + ph}" class="axis"/>`);
  parts.push(`<text x="${M.l + pw / 2}" y="${H - 4}" class="xl">${esc(xLabel)}</text>`);
  parts.push(`<text transform="translate(12 ${M.t + ph / 2}) rotate(-90)" class="yl">${esc(yLabel)}</text>`);
  lines.forEach((l, li) => {
    if (opts.bars) {
      const bw = Math.max(1, pw / Math.max(1, l.points.length) / lines.length);
      for (const [x, y] of l.points) {
        if (y === null || y === 0) continue;
        parts.push(`<rect x="${(X(x) + li * bw).toFixed(1)}" y="${Y(y).toFixed(1)}" width="${bw.toFixed(1)}" height="${(M.t + ph - Y(y)).toFixed(1)}" fill="${l.color}"/>`);
      }
    } else {
      let d = '';
      let pen = false;
      for (const [x, y] of l.points) {
        if (y === null) {
          pen = false;
          continue;
        }
        d += `${pen ? 'L' : 'M'}${X(x).toFixed(1)} ${Y(y).toFixed(1)}`;
        pen = true;
      }
      if (d) parts.push(`<path d="${d}" fill="none" stroke="${l.color}" stroke-width="1.5"${l.dashed ? ' stroke-dasharray="4 3"' : ''}/>`);
    }
    parts.push(`<rect x="${M.l + 4}" y="${24 + li * 13}" width="10" height="3" fill="${l.color}"/><text x="${M.l + 18}" y="${26 + li * 13}" class="lg">${esc(l.name)}</text>`);
  });
  parts.push('</svg>');
  return parts.join('');
}

const ms = (ns: number | null): number | null => (ns === null ? null : ns / 1e6);

function timePlots(series: SeriesPoint[], binSeconds: number): string {
  const xMax = niceMax(Math.max(binSeconds, ...series.map((p) => p.t + binSeconds)));
  return [
    plot('Round-trip time over time', 'time since capture start (s)', 'ms', [
      { name: 'RTT mean', color: '#1f77b4', points: series.map((p) => [p.t, ms(p.rtt)]) },
      { name: 'RTT max', color: '#aec7e8', points: series.map((p) => [p.t, ms(p.rttMax)]), dashed: true },
      { name: 'network RTT mean', color: '#2ca02c', points: series.map((p) => [p.t, ms(p.networkRtt)]) },
    ], { xMax }),
    plot('Server delay over time', 'time since capture start (s)', 'ms', [
      { name: 'server delay mean', color: '#d62728', points: series.map((p) => [p.t, ms(p.serverDelay)]) },
      { name: 'server delay max', color: '#ff9896', points: series.map((p) => [p.t, ms(p.serverDelayMax)]), dashed: true },
    ], { xMax }),
    plot(`Loss over time (packets per ${tickLabel(binSeconds)} s)`, 'time since capture start (s)', 'packets lost', [
      { name: 'client→server', color: '#9467bd', points: series.map((p) => [p.t, p.lostClientToServer]) },
      { name: 'server→client', color: '#ff7f0e', points: series.map((p) => [p.t, p.lostServerToClient]) },
    ], { xMax, bars: true }),
  ].join('');
}

function cdfPlot(title: string, samples: Array<[string, string, Samples]>): string {
  const lines: Line[] = samples.map(([name, color, s]) => ({ name, color, points: s.cdf(100).map(([v, q]) => [v / 1e6, q * 100]) }));
  return plot(title, 'ms', '% of samples ≤', lines, { yMax: 100 });
}

function cell(field: string, value: number | null, text: string): string {
  return `<td data-field="${field}" data-value="${value === null ? '' : value}">${esc(text)}</td>`;
}

function lossCells(prefix: string, l: DirectionLoss): string {
  return cell(`${prefix}.lost`, l.lost, `${l.lost}/${l.expected}`) + cell(`${prefix}.lossRatio`, l.lossRatio, formatRatio(l.lossRatio)) + cell(`${prefix}.reordered`, l.reordered, String(l.reordered)) + cell(`${prefix}.duplicates`, l.duplicates, String(l.duplicates));
}

function metricCells(m: MetricsBlock): string {
  let s = '';
  for (const k of ['rtt', 'serverDelay', 'networkRtt'] as const) {
    for (const q of ['p50', 'p95', 'p99', 'max'] as const) s += cell(`${k}.${q}`, m[k][q], formatDuration(m[k][q]));
  }
  return s + lossCells('clientToServer', m.clientToServer) + lossCells('serverToClient', m.serverToClient);
}

const HEAD_CELLS =
  '<th rowspan="2">client</th><th rowspan="2">server</th>' +
  '<th colspan="4">round-trip time</th><th colspan="4">server delay</th><th colspan="4">network RTT</th>' +
  '<th colspan="4">client→server</th><th colspan="4">server→client</th></tr><tr>' +
  'p50 p95 p99 max p50 p95 p99 max p50 p95 p99 max'.split(' ').map((h) => `<th>${h}</th>`).join('') +
  ['lost', 'loss', 'reord.', 'dup.', 'lost', 'loss', 'reord.', 'dup.'].map((h) => `<th>${h}</th>`).join('');

function flowRow(f: FlowSummary): string {
  return `<tr data-flow="${f.id}"><td><a href="#flow-${f.id}">${f.id}</a></td><td>${f.protocol}</td><td>${esc(`[${f.client}]:${f.clientPort}`)}</td><td>${esc(`[${f.server}]:${f.serverPort}`)}</td>${metricCells(f)}</tr>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:20px;color:#222;background:#fff}
h1{font-size:20px;margin:0 0 6px}h2{font-size:17px;margin:24px 0 6px}h3{font-size:15px;margin:18px 0 4px}
table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right;white-space:nowrap}
th{background:#f2f2f2}td:nth-child(-n+4){text-align:left}.meta{color:#555}.warn{color:#a00;font-weight:bold}
.plots{display:flex;flex-wrap:wrap;gap:8px}svg{border:1px solid #eee;background:#fff}
.pt{font-size:13px;font-weight:600}.yt{font-size:10px;text-anchor:end;dominant-baseline:middle}.xt{font-size:10px;text-anchor:middle}
.xl,.yl{font-size:11px;text-anchor:middle;fill:#444}.lg{font-size:10px;dominant-baseline:middle}.grid{stroke:#eee}.axis{stroke:#888}
`;

export function formatHtml(built: BuiltReport): string {
  const r: AnalysisReport = built.report;
  const c = r.capture;
  const out: string[] = [];
  out.push(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>PDM report: ${esc(c.file)}</title><style>${STYLE}</style></head><body>`);
  out.push(`<h1>PDM report: ${esc(c.file)}</h1>`);
  out.push(
    `<p class="meta" id="capture" data-packets="${c.packets}" data-pdm-packets="${c.pdmPackets}">${esc(c.format)}, ${c.packets} packets, ${c.ipv6Packets} IPv6, ${c.pdmPackets} with a PDM option, ${c.durationSeconds.toFixed(3)} s from ${esc(c.start ?? '-')}. ` +
      'Times from RFC 8250 PDM: round-trip time is the client’s DeltaTLS, server delay the server’s DeltaTLR, network RTT the difference; loss counts PSNs never seen at the capture point.</p>',
  );
  if (r.decryption) {
    const d = r.decryption;
    out.push(`<p class="meta">Encrypted options: ${d.opened} opened, ${d.tagMismatch} wrong key (TAG_MISMATCH), ${d.noKey} without a key.</p>`);
  }
  if (c.error) out.push(`<p class="warn">The capture is damaged; this report covers what came before: ${esc(c.error)}</p>`);

  out.push('<h2>Flows</h2><table id="flows"><thead><tr><th rowspan="2">flow</th><th rowspan="2">proto</th>' + HEAD_CELLS + '</tr></thead><tbody>');
  for (const f of r.flows) out.push(flowRow(f));
  out.push('</tbody></table>');

  if (r.hostPairs.length > 0) {
    out.push('<h2>Host pairs</h2><table id="pairs"><thead><tr><th rowspan="2">flows</th><th rowspan="2"></th>' + HEAD_CELLS + '</tr></thead><tbody>');
    r.hostPairs.forEach((p, i) => out.push(`<tr data-pair="${i}"><td>${p.flows}</td><td></td><td>${esc(p.client)}</td><td>${esc(p.server)}</td>${metricCells(p)}</tr>`));
    out.push('</tbody></table>');
  }

  const plotted = [...r.flows].sort((a, b) => b.clientToServer.packets + b.serverToClient.packets - (a.clientToServer.packets + a.serverToClient.packets)).slice(0, MAX_PLOTTED);
  if (plotted.length < r.flows.length) out.push(`<p class="meta">Plots for the ${plotted.length} busiest of ${r.flows.length} flows.</p>`);
  for (const f of plotted) {
    const s = built.flowSamples.get(f.id)!;
    out.push(`<h3 id="flow-${f.id}">Flow ${f.id}: ${f.protocol} ${esc(`[${f.client}]:${f.clientPort} → [${f.server}]:${f.serverPort}`)} (${esc(f.formats.join(', '))})</h3>`);
    out.push(`<div class="plots">${timePlots(f.series, c.binSeconds)}${cdfPlot('Distribution (CDF)', [['round-trip time', '#1f77b4', s.rtt], ['server delay', '#d62728', s.serverDelay]])}</div>`);
  }
  out.push('</body></html>\n');
  return out.join('\n');
}
