/// <reference types="node" />
// Fleet benchmark of the primary (issue 19 item 8; docs/primary.md "Fleet figures").
//
// 1. The fleet's request rate: 100,000 routers renewing for one day of one
//    pairing (period 1 d, overlap 1 h, renew interval 1 h), each grant timed by
//    the primary's own grantTiming() and each next renewal by the agent's own
//    renewalTime() with its jitter. Prints the average and the peak rate.
// 2. Those two rates offered to real primaries on 127.0.0.1 (open loop:
//    Poisson arrivals, one new TCP connection per request as routers make
//    them) by already-enrolled simulated devices: one instance on SQLite, and
//    two instances on one PostgreSQL (requests alternating between them, as
//    DNS round robin would). Prints p50/p99 latency and CPU per request
//    (the primaries' user+system time; PostgreSQL's server processes
//    separately).
//
//   bash test/bench/primary-fleet.sh [--routers N] [--seconds S] [--devices N] [--json]
import { readFileSync, readdirSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { readEnrollResponse, type BuiltRequest } from '../../core/src/enroll/client.js';
import { renewalTime } from '../../firmware/src/agent-schedule.js';
import { grantTiming } from '../../primary/src/enroll-service.js';
import { cliOk, SimDevice, spawnPrimary, tempDir, type ServeProcess, seedPrimary } from '../../primary/test/harness.js';
import { cluster } from '../../primary/test/postgres.js';

const { values } = parseArgs({
  options: {
    routers: { type: 'string', default: '100000' },
    seconds: { type: 'string', default: '20' },
    devices: { type: 'string', default: '1000' },
    json: { type: 'boolean', default: false },
  },
});
const ROUTERS = Number(values.routers);
const SECONDS = Number(values.seconds);
const DEVICES = Number(values.devices);
const PREFIX = '2001:db8:1::/48';
const PERIOD = 86400;
const OVERLAP = 3600;
const RENEW = 3600;
const say = (s: string) => process.stderr.write(`${s}\n`);

// ---- 1. the fleet's rate, from the real schedules -------------------------------------------

function fleetRates(): { average: number; peak1s: number; peak10s: number; peakSinceGeneration: number } {
  const schedule = { t0: 0, period: PERIOD, overlap: OVERLAP };
  // Counted over one generation [start, end); the day before is warm-up, from
  // last grants spread evenly over an hour, until each router follows the schedule.
  const start = PERIOD * 10;
  const end = start + PERIOD;
  const perSecond = new Uint32Array(PERIOD);
  let total = 0;
  for (let r = 0; r < ROUTERS; r++) {
    let t = start - PERIOD - Math.floor(Math.random() * RENEW);
    while (t < end) {
      if (t >= start) {
        perSecond[t - start]!++;
        total++;
      }
      t = Math.max(t + 1, renewalTime(grantTiming([schedule], t, RENEW), 0, Math.random()));
    }
  }
  let peak1s = 0;
  let peak10s = 0;
  let peakAt = 0;
  let window = 0;
  for (let i = 0; i < PERIOD; i++) {
    window += perSecond[i]! - (i >= 10 ? perSecond[i - 10]! : 0);
    peak1s = Math.max(peak1s, perSecond[i]!);
    if (window / 10 > peak10s) {
      peak10s = window / 10;
      peakAt = i;
    }
  }
  // seconds from the generation start to the end of the busiest 10 s (negative: before it)
  return { average: total / PERIOD, peak1s, peak10s, peakSinceGeneration: peakAt > PERIOD / 2 ? peakAt - PERIOD : peakAt };
}

// ---- 2. the primaries under that load ------------------------------------------------------

/** CPU seconds (user + system) of a process, from /proc. */
function cpuSeconds(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/** The PostgreSQL server processes of the cluster in `dir`: the postmaster and its children. */
function postgresPids(dir: string): number[] {
  let postmaster = 0;
  try {
    postmaster = Number(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return [];
  }
  const pids = [postmaster];
  for (const p of readdirSync('/proc')) {
    if (!/^\d+$/.test(p)) continue;
    try {
      const f = readFileSync(`/proc/${p}/stat`, 'utf8');
      if (Number(f.slice(f.lastIndexOf(')') + 2).split(' ')[1]) === postmaster) pids.push(Number(p));
    } catch {
      /* gone */
    }
  }
  return pids;
}

function send(port: number, sent: BuiltRequest): Promise<{ ms: number; status: number; body: Buffer }> {
  const t = process.hrtime.bigint();
  return new Promise((resolve) => {
    const req = request(
      { host: '127.0.0.1', port, method: 'POST', path: '/v1/enroll', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': sent.envelope.length } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      },
    );
    req.on('error', () => resolve({ ms: Number(process.hrtime.bigint() - t) / 1e6, status: -1, body: Buffer.alloc(0) }));
    req.end(Buffer.from(sent.envelope));
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

interface PhaseResult {
  rate: number;
  requests: number;
  granted: number;
  failed: number;
  p50: number;
  p99: number;
  cpuPerRequestMs: number;
  dbCpuPerRequestMs: number;
  achievedRate: number;
}

async function phase(rate: number, ports: number[], pids: number[], dbPids: () => number[], devices: SimDevice[], pk: Uint8Array): Promise<PhaseResult> {
  const n = Math.round(rate * SECONDS);
  // Requests sealed beforehand, so that the load generator's own CPU stays out of the measured window.
  const work = Array.from({ length: n }, (_, i) => {
    const d = devices[i % devices.length]!;
    return { d, sent: d.build() };
  });
  const cpu0 = pids.map(cpuSeconds);
  const db0 = dbPids().map(cpuSeconds).reduce((a, b) => a + b, 0);
  const t0 = Date.now();
  let at = 0;
  const results: Promise<{ ms: number; status: number; body: Buffer; i: number }>[] = [];
  for (let i = 0; i < n; i++) {
    at += -Math.log(1 - Math.random()) / rate; // Poisson arrivals
    const wait = t0 + at * 1000 - Date.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    results.push(send(ports[i % ports.length]!, work[i]!.sent).then((r) => ({ ...r, i })));
  }
  const done = await Promise.all(results);
  const elapsed = (Date.now() - t0) / 1000;
  const cpu = pids.map(cpuSeconds).reduce((a, b, k) => a + b - cpu0[k]!, 0);
  const db = dbPids().map(cpuSeconds).reduce((a, b) => a + b, 0) - db0;
  let granted = 0;
  for (const r of done) {
    if (r.status !== 200) continue;
    const w = work[r.i]!;
    const opened = readEnrollResponse({ body: new Uint8Array(r.body), sent: w.sent, device: w.d.device, primaryPk: pk });
    if (opened.status === 'granted') granted++;
  }
  const ms = done.map((r) => r.ms).sort((a, b) => a - b);
  return {
    rate,
    requests: n,
    granted,
    failed: n - granted,
    p50: pct(ms, 50),
    p99: pct(ms, 99),
    cpuPerRequestMs: (cpu / n) * 1000,
    dbCpuPerRequestMs: (db / n) * 1000,
    achievedRate: n / elapsed,
  };
}

async function prepare(db: string, key: string): Promise<string[]> {
  await cliOk(['init', '--db', db, '--key', key]);
  const now = Math.floor(Date.now() / 1000);
  return seedPrimary(db, { prefix: PREFIX, pairing: { id: 'f1ee7f1ee7f1ee7f', t0: now - 3600, period: PERIOD, overlap: OVERLAP }, tokens: DEVICES, now });
}

async function enrollAll(devices: SimDevice[], tokens: string[]): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < devices.length) {
        const i = next++;
        const r = await devices[i]!.enroll({ token: tokens[i]! });
        if (r.status !== 'granted') throw new Error(`device ${i} not enrolled: ${JSON.stringify(r).slice(0, 200)}`);
      }
    }),
  );
}

async function run(name: string, db: string, key: string, instances: number, dbPids: () => number[], rates: number[]): Promise<{ name: string; phases: PhaseResult[] }> {
  say(`${name}: preparing ${DEVICES} devices`);
  const tokens = await prepare(db, key);
  const procs: ServeProcess[] = [];
  // one load generator stands for many routers: no per-source limits
  for (let i = 0; i < instances; i++) procs.push(await spawnPrimary(['--db', db, '--key', key, '--rate', '0', '--connections-per-source', '1000000', '--max-connections', '1000000', '--quiet']));
  try {
    const devices = Array.from({ length: DEVICES }, (_, i) => new SimDevice(procs[i % instances]!.url, procs[0]!.pk, 'client', [PREFIX]));
    await enrollAll(devices, tokens);
    const phases: PhaseResult[] = [];
    for (const rate of rates) {
      say(`${name}: ${rate.toFixed(0)} req/s for ${SECONDS} s`);
      phases.push(
        await phase(
          rate,
          procs.map((p) => p.port),
          procs.map((p) => p.child.pid!),
          dbPids,
          devices,
          procs[0]!.pk,
        ),
      );
    }
    return { name, phases };
  } finally {
    for (const p of procs) await p.stop('SIGTERM');
  }
}

async function main(): Promise<void> {
  const t = tempDir('fleet');
  say(`fleet model: ${ROUTERS} routers, one day of renewals (agent's renewalTime, primary's grantTiming)`);
  const fleet = fleetRates();
  const rates = [fleet.average, fleet.peak10s];
  const sqlite = await run('1 instance, SQLite', join(t.dir, 'fleet.db'), join(t.dir, 'primary.key'), 1, () => [], rates);
  const pg = await cluster({ durable: true });
  const url = await pg.newDatabase('fleet');
  const onPg = await run('2 instances, PostgreSQL', url, join(t.dir, 'primary.key'), 2, () => postgresPids(pg.socketDir), rates);
  t.cleanup();
  const report = { routers: ROUTERS, fleet, seconds: SECONDS, devices: DEVICES, runs: [sqlite, onPg] };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return;
  }
  const f = (x: number, d = 1) => x.toFixed(d);
  console.log(`fleet of ${ROUTERS} routers (renew 1 h, generation 1 d, overlap 1 h): average ${f(fleet.average)} req/s, peak ${f(fleet.peak10s)} req/s over 10 s (${fleet.peak1s} in the busiest second) at generation start ${fleet.peakSinceGeneration >= 0 ? '+' : ''}${fleet.peakSinceGeneration} s`);
  console.log('setup                       offered   achieved  requests  granted  p50 ms   p99 ms   primary CPU ms/req  PostgreSQL CPU ms/req');
  for (const r of [sqlite, onPg]) {
    for (const p of r.phases) {
      console.log(
        `${r.name.padEnd(27)} ${f(p.rate).padStart(7)}  ${f(p.achievedRate).padStart(8)}  ${String(p.requests).padStart(8)}  ${String(p.granted).padStart(7)}  ${f(p.p50).padStart(6)}  ${f(p.p99).padStart(7)}  ${f(p.cpuPerRequestMs, 2).padStart(18)}  ${r.name.includes('PostgreSQL') ? f(p.dbCpuPerRequestMs, 2).padStart(21) : '-'.padStart(21)}`,
      );
    }
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(e);
    process.exit(1);
  },
);
