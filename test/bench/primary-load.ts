/// <reference types="node" />
// Load benchmark of the primary: many concurrent simulated agents enroll (by
// one-time token, so every enrollment is a real grant with secrets derived for
// a pairing) and then renew, over HTTP on loopback. The primary runs as its own
// process (`serve`), the agents in this one.
//
//   node .build/node/test/bench/primary-load.js [--devices 3000] [--concurrency 64]
//        [--renewals 2] [--sync normal|full] [--json]
//
// Prints enrollments/s and renewals/s with latency percentiles; exit 1 when
// anything failed.
import { spawn } from 'node:child_process';
import { readFileSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { MAIN_JS, SimDevice, tempDir, seedPrimary } from '../../primary/test/harness.js';
import { fromHex } from '../../core/src/util/bytes.js';

/** Only as a program: test runners that load every file under .build/node/test (uvu 'primary') must not start it. */
function isMain(): boolean {
  try {
    return realpathSync(process.argv[1] ?? '') === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

const { values } = parseArgs({
  args: isMain() ? process.argv.slice(2) : [],
  options: {
    devices: { type: 'string', default: '3000' },
    concurrency: { type: 'string', default: '64' },
    renewals: { type: 'string', default: '2' },
    sync: { type: 'string', default: 'full' },
    json: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
  },
});
const DEVICES = Number(values.devices);
const CONC = Number(values.concurrency);
const RENEWALS = Number(values.renewals);
const PREFIX = '2001:db8:1::/48';

interface Phase {
  name: string;
  /** Server CPU (user + system) per granted request, ms. */
  serverCpuMs: number;
  count: number;
  ok: number;
  failed: number;
  seconds: number;
  rate: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  errors: Record<string, number>;
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** utime + stime of a process, ms (from /proc/PID/stat, clock ticks of 10 ms). */
function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'ascii');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 10;
}

async function phase(name: string, jobs: (() => Promise<string>)[], serverPid: number): Promise<Phase> {
  const cpu0 = cpuMs(serverPid);
  const lat: number[] = [];
  const errors: Record<string, number> = {};
  let ok = 0;
  let next = 0;
  const t0 = process.hrtime.bigint();
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      const s = process.hrtime.bigint();
      let status: string;
      try {
        status = await job();
      } catch (e) {
        status = `error:${(e as { code?: string }).code ?? (e as Error).message}`;
      }
      lat.push(Number(process.hrtime.bigint() - s) / 1e6);
      if (status === 'granted') ok++;
      else errors[status] = (errors[status] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: CONC }, worker));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const serverCpuMs = (cpuMs(serverPid) - cpu0) / Math.max(1, ok);
  lat.sort((a, b) => a - b);
  return {
    name,
    serverCpuMs,
    count: jobs.length,
    ok,
    failed: jobs.length - ok,
    seconds,
    rate: ok / seconds,
    p50: pct(lat, 50),
    p90: pct(lat, 90),
    p99: pct(lat, 99),
    max: lat[lat.length - 1] ?? 0,
    errors,
  };
}

async function main(): Promise<number> {
  const t = tempDir('bench');
  const db = join(t.dir, 'bench.db');
  const key = join(t.dir, 'primary.key');

  // Prepare: client prefix, a pairing (so grants carry CS(P) of real generations), one token per device.
  const now = Math.floor(Date.now() / 1000);
  const tokens = await seedPrimary(db, { prefix: PREFIX, pairing: { id: 'be0c4be0c4be0c4b', t0: now - 3600, period: 86400, overlap: 3600 }, tokens: DEVICES, now });

  const nodeArgs = process.env.PDMV2_BENCH_NODE_ARGS ? process.env.PDMV2_BENCH_NODE_ARGS.split(' ') : [];
  const server = spawn(process.execPath, [...nodeArgs, MAIN_JS, 'serve', '--init', '--db', db, '--key', key, '--listen', '127.0.0.1:0', '--rate', '0', '--quiet', '--sync', values.sync!], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const info = await new Promise<{ pk: Uint8Array; url: string }>((resolve, reject) => {
    let buf = '';
    server.stdout!.on('data', (b: Buffer) => {
      buf += b.toString();
      const pk = /primary public key: ([0-9a-f]{64})/.exec(buf);
      const url = /listening on (http:\/\/\S+)/.exec(buf);
      if (pk && url) resolve({ pk: fromHex(pk[1]!), url: url[1]! });
    });
    server.on('exit', (c) => reject(new Error(`primary exited (${c})`)));
  });

  const devices = Array.from({ length: DEVICES }, () => new SimDevice(info.url, info.pk, 'client', [PREFIX]));
  const enroll = await phase(
    'enroll',
    devices.map((dev, i) => async () => (await dev.enroll({ token: tokens[i]! })).status),
    server.pid!,
  );
  const renew = await phase(
    'renew',
    Array.from({ length: RENEWALS }, () => devices.map((dev) => async () => (await dev.enroll()).status)).flat(),
    server.pid!,
  );
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  if (!values.keep) t.cleanup();

  const results = { devices: DEVICES, concurrency: CONC, sync: values.sync, node: process.version, phases: [enroll, renew] };
  if (values.json) console.log(JSON.stringify(results));
  else {
    console.log(`primary load: ${DEVICES} simulated agents, ${CONC} concurrent, loopback HTTP, sync=${values.sync}`);
    for (const p of [enroll, renew]) {
      console.log(
        `${p.name.padEnd(7)} ${p.ok}/${p.count} granted in ${p.seconds.toFixed(2)} s = ${p.rate.toFixed(0)}/s; ` +
          `latency p50 ${p.p50.toFixed(1)} ms, p90 ${p.p90.toFixed(1)} ms, p99 ${p.p99.toFixed(1)} ms, max ${p.max.toFixed(1)} ms; ` +
          `server CPU ${p.serverCpuMs.toFixed(2)} ms/request (one core: ~${(1000 / p.serverCpuMs).toFixed(0)}/s)` +
          (p.failed ? `; failures ${JSON.stringify(p.errors)}` : ''),
      );
    }
  }
  return enroll.failed + renew.failed === 0 ? 0 : 1;
}

if (isMain()) {
  main().then(
    (c) => process.exit(c),
    (e: unknown) => {
      console.error(e);
      process.exit(2);
    },
  );
}
