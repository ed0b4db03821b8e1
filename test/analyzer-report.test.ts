// Analyzer outputs: the terminal table, CSV and the self-contained HTML page
// show the JSON report's numbers. The HTML is opened in Debian's headless
// Chromium (test/browser/launch.ts): no request leaves the file, every number
// cell equals the JSON, the plots are drawn; a screenshot goes to
// artifacts/analyzer/report.png.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatDuration, formatRatio } from '../analyzer/src/output-text.js';
import { LINKTYPE_ETHERNET } from '../analyzer/src/pcap.js';
import type { AnalysisReport, FlowSummary, HostPairSummary } from '../analyzer/src/report.js';
import { openOfflinePage } from './browser/launch.js';
import { ether, exchange, pcapFile, type ExchangePacket } from './capture-fixtures.js';

const CLI = fileURLToPath(new URL('../analyzer/src/cli.js', import.meta.url));
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ARTIFACTS = join(process.env.PDMV2_ARTIFACTS ?? join(ROOT, 'artifacts'), 'analyzer');
const dir = mkdtempSync(join(tmpdir(), 'pdmv2-analyzer-report-'));

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

// Two flows over a minute: one steady, one whose server slows down and which loses packets midway.
const steady = exchange({ form: 'pdmv2-clear', rounds: 600, intervalNs: 100_000_000, sport: 40001, serverDelayNs: (i) => 300_000 + (i % 17) * 20_000 });
const troubled = exchange({
  form: 'pdm-v1',
  rounds: 600,
  intervalNs: 100_000_000,
  sport: 40002,
  dport: 8443,
  networkNs: 12_000_000,
  serverDelayNs: (i) => (i > 300 && i < 400 ? 8_000_000 : 500_000) + (i % 13) * 50_000,
});
const packets: ExchangePacket[] = [...steady.packets, ...troubled.packets.filter((p) => !(p.fromClient && p.psntp % 50 === 7) && !(!p.fromClient && p.psntp > 5300 && p.psntp < 5310))];
packets.sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0));
const capture = join(dir, 'two-flows.pcap');
writeFileSync(capture, pcapFile(packets.map((p) => ({ t: p.t, data: ether(p.ip) })), { linkType: LINKTYPE_ETHERNET, nanos: true }));

const json = cli(['flows', capture, '--json']);
const report = JSON.parse(json.stdout) as AnalysisReport;

test('the JSON report has both flows with the loss that was made', () => {
  assert.is(json.code, 0, json.stderr);
  assert.is(report.flows.length, 2);
  const t = report.flows.find((f) => f.serverPort === 8443)!;
  assert.is(t.clientToServer.lost, 12);
  assert.is(t.serverToClient.lost, 9);
  assert.ok(t.serverDelay.p99! > 8_000_000 && t.serverDelay.p50! < 1_200_000, 'the slow stretch shows in p99, not p50');
});

test('the terminal table shows the JSON numbers', () => {
  const r = cli(['flows', capture]);
  assert.is(r.code, 0, r.stderr);
  for (const f of report.flows) {
    const head = r.stdout.indexOf(`flow ${f.id} ${f.protocol} [${f.client}]:${f.clientPort} → [${f.server}]:${f.serverPort}`);
    assert.ok(head >= 0, `flow ${f.id} heading`);
    const block = r.stdout.slice(head).split('\n\n')[0]!;
    const row = (name: string): string[] => block.split('\n').find((l) => l.trimStart().startsWith(name))!.trim().split(/\s{2,}/);
    const d = f.rtt;
    assert.equal(row('round trip'), ['round trip', formatDuration(d.p50), formatDuration(d.p95), formatDuration(d.p99), formatDuration(d.max), String(d.count)]);
    assert.equal(row('server delay').slice(1, 5), [f.serverDelay.p50, f.serverDelay.p95, f.serverDelay.p99, f.serverDelay.max].map(formatDuration));
    assert.match(block, `lost ${f.clientToServer.lost} of ${f.clientToServer.expected} (${formatRatio(f.clientToServer.lossRatio)})`);
  }
});

test('the CSV has one row per flow and host pair with the JSON numbers', () => {
  const r = cli(['flows', capture, '--csv']);
  assert.is(r.code, 0, r.stderr);
  const [header, ...rows] = r.stdout.trim().split('\n').map((l) => l.split(','));
  assert.is(rows.length, report.flows.length + report.hostPairs.length);
  const col = (row: string[], name: string): string => row[header!.indexOf(name)]!;
  for (const f of report.flows) {
    const row = rows.find((x) => x[0] === 'flow' && x[1] === String(f.id))!;
    assert.is(Number(col(row, 'rtt_p95_ns')), f.rtt.p95);
    assert.is(Number(col(row, 'server_delay_p99_ns')), f.serverDelay.p99);
    assert.is(Number(col(row, 'network_rtt_p50_ns')), f.networkRtt.p50);
    assert.is(Number(col(row, 'lost_c2s')), f.clientToServer.lost);
    assert.is(Number(col(row, 'loss_ratio_s2c')), f.serverToClient.lossRatio);
    assert.is(col(row, 'client'), f.client);
  }
});

/** The value at a JSON path like "rtt.p50" or "clientToServer.lost". */
function at(obj: FlowSummary | HostPairSummary, path: string): number | null {
  let v: unknown = obj;
  for (const k of path.split('.')) v = (v as Record<string, unknown>)[k];
  return v as number | null;
}

test('the HTML page, opened in headless Chromium, is self-contained and shows the JSON numbers and plots', async () => {
  const html = join(dir, 'report.html');
  const r = cli(['flows', capture, '--html', html]);
  assert.is(r.code, 0, r.stderr);
  const text = readFileSync(html, 'utf8');
  assert.not.match(text, /<script|<link|<img|src=|@import|url\(/i, 'nothing to fetch, nothing to run');
  const session = await openOfflinePage({ width: 1500, height: 1000 });
  try {
    const { page } = session;
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
    const cells = await page.$$eval('table#flows tr[data-flow] td[data-field]', (tds) =>
      tds.map((td) => ({ flow: Number(td.closest('tr')!.getAttribute('data-flow')), field: td.getAttribute('data-field')!, value: td.getAttribute('data-value')!, text: td.textContent! })),
    );
    assert.is(cells.length, report.flows.length * 20);
    for (const c of cells) {
      const f = report.flows.find((x) => x.id === c.flow)!;
      const want = at(f, c.field);
      assert.is(c.value === '' ? null : Number(c.value), want, `flow ${c.flow} ${c.field}`);
      if (c.field.endsWith('lossRatio')) assert.is(c.text, formatRatio(want));
      else if (/^(rtt|serverDelay|networkRtt)\./.test(c.field)) assert.is(c.text, formatDuration(want));
    }
    const pairCells = await page.$$eval('table#pairs tr[data-pair] td[data-field]', (tds) =>
      tds.map((td) => ({ pair: Number(td.closest('tr')!.getAttribute('data-pair')), field: td.getAttribute('data-field')!, value: td.getAttribute('data-value')! })),
    );
    assert.is(pairCells.length, report.hostPairs.length * 20);
    for (const c of pairCells) assert.is(c.value === '' ? null : Number(c.value), at(report.hostPairs[c.pair]!, c.field), `pair ${c.pair} ${c.field}`);
    // Four plots per flow (RTT, server delay, loss over time; distributions), each with drawn data.
    const plots = await page.$$eval('svg', (svgs) => svgs.map((s) => ({ label: s.getAttribute('aria-label'), marks: s.querySelectorAll('path, rect[height]').length, width: s.getBoundingClientRect().width })));
    assert.is(plots.length, report.flows.length * 4);
    for (const p of plots) assert.ok(p.width > 100, `${p.label} is laid out`);
    const lossPlots = plots.filter((p) => p.label?.startsWith('Loss'));
    assert.ok(lossPlots.some((p) => p.marks > 2), 'lost packets are drawn as bars');
    assert.equal(session.outsideRequests, []);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'report.png') as `${string}.png`, fullPage: true });
    writeFileSync(join(ARTIFACTS, 'report.html'), text);
    writeFileSync(join(ARTIFACTS, 'report.json'), json.stdout);
  } finally {
    await session.close();
  }
});

test.run();
