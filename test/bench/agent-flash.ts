/// <reference types="node" />
// Flash writes of the agent per simulated day, in each enrollment state
// (issue 15 item 1): the real agent daemon (bundle on real QuickJS) against
// real primaries on 127.0.0.1, every write into its state_dir (the flash of
// a router: /etc/pdmv2) counted through inotify.
//
//   node build/build.mjs && node .build/node/test/bench/agent-flash.js [--day-scale S]
//
// Time is accelerated, the proportions of a real day kept:
//   granted      renew period 3 s (default 3600 s: 24 renewals a day), key
//                generation period 72 s (default 1 day), overlap 12 s; one
//                simulated day = 72 s, counted whole (--day-scale 0.5: half)
//   pending      poll every ~1 s (poll_max, default 600 s: 144 polls a day)
//   unreachable  retry every ~1 s (retry_max, default 900 s: 96 attempts a day)
// Pending and unreachable count writes per attempt over 15 attempts and scale
// to the default day. Prints one line per state and the goal
// (<= 2 a day granted, 0 pending or unreachable).
import { mkdirSync } from 'node:fs';
import { startPrimary, type RunningPrimary } from '../../primary/src/main.js';
import { initiatePairing } from '../../primary/src/pairing-service.js';
import { nodeRandom } from '../../primary/src/fast-suite.js';
import { tempDir } from '../../primary/test/harness.js';
import { agentDir, daemon, runMain, waitFor, WriteCounter, type Cleanups } from '../agent-harness.js';

const CLIENT_P = '2001:db8:1::/48';
const SERVER_P = '2001:db8:ff::/48';
const RENEW = 3;
const PERIOD = 24 * RENEW;
const now = (): number => Math.floor(Date.now() / 1000);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const cleanups: Cleanups = [];

async function primary(name: string): Promise<{ p: RunningPrimary; base: string }> {
  const t = tempDir(name);
  const p = await startPrimary({
    db: `${t.dir}/p.db`,
    key: `${t.dir}/primary.key`,
    host: '127.0.0.1',
    port: 0,
    limits: { rate: 0 },
    config: { renewInterval: RENEW, pendingRetry: 1 },
  });
  cleanups.push(async () => {
    await p.close();
    t.cleanup();
  });
  return { p, base: `http://127.0.0.1:${p.port}` };
}

function counted(d: { state: string }): WriteCounter {
  mkdirSync(d.state, { recursive: true, mode: 0o700 });
  const c = new WriteCounter(d.state);
  cleanups.push(() => c.close());
  return c;
}

const lines = (log: string[], re: RegExp): number => log.filter((l) => re.test(l)).length;

async function main(): Promise<void> {
  const scaleArg = process.argv.indexOf('--day-scale');
  const scale = scaleArg > 0 ? Number(process.argv[scaleArg + 1]) : 1;
  const pc = await primary('flash-pc');
  const ps = await primary('flash-ps');
  pc.p.store.addPrefix(CLIENT_P, 'client', now());
  ps.p.store.addPrefix(SERVER_P, 'server', now());
  ps.p.store.addInvite(pc.p.identity.pk, 600, now());
  await initiatePairing(pc.p.store, pc.p.identity, { url: ps.base, peerPk: ps.p.identity.pk, period: PERIOD, overlap: 12, dataAead: 1, mode: 'encrypted' }, now, nodeRandom);
  const out: string[] = [];

  // granted: by token, then one simulated day of renewals and generation changes
  {
    const token = (await pc.p.store.createToken({ role: 'client', prefixes: [CLIENT_P], ttl: 600, now: now() })).display;
    const d = agentDir('flash-granted', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token }, cleanups);
    const w = counted(d);
    const a = daemon(d, cleanups);
    await waitFor('granted', () => lines(a.log, /info: granted/) > 0, 20000);
    await sleep(500);
    w.reset();
    const renewed0 = lines(a.log, /info: renewed/);
    const ms = PERIOD * 1000 * scale;
    await sleep(ms);
    const renewals = lines(a.log, /info: renewed/) - renewed0;
    const perDay = w.count / scale;
    out.push(`granted      ${w.count} writes in ${(ms / 1000).toFixed(0)} s (${renewals} renewals, renew ${RENEW} s, generation period ${PERIOD} s) = ${perDay.toFixed(1)} a day  [${[...new Set(w.names)].join(' ')}]`);
    a.kill('SIGTERM');
  }

  /** Writes per attempt over 15 attempts (each logs one line matching `re`), scaled to `perDay` attempts. */
  const perAttempt = async (name: string, url: string, extra: string, re: RegExp, perDay: number, what: string): Promise<string> => {
    const d = agentDir(`flash-${name}`, { url, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], extra }, cleanups);
    const w = counted(d);
    const a = daemon(d, cleanups);
    await waitFor(`first ${name} attempt`, () => lines(a.log, re) > 0, 20000);
    await sleep(300);
    w.reset();
    const n0 = lines(a.log, re);
    await waitFor('15 attempts', () => lines(a.log, re) - n0 >= 15, 90000);
    await sleep(300);
    const n = lines(a.log, re) - n0;
    a.kill('SIGTERM');
    return `${name.padEnd(12)} ${w.count} writes in ${n} attempts = ${((w.count / n) * perDay).toFixed(1)} a day (${what})  [${[...new Set(w.names)].join(' ')}]`;
  };
  // pending: fingerprint never approved; unreachable: nothing listens on the primary's port
  out.push(await perAttempt('pending', pc.base, "\toption poll_max '1'", /waiting for approval/, 144, '144 polls at poll_max 600 s'));
  out.push(await perAttempt('unreachable', 'http://127.0.0.1:9', "\toption retry_max '1'", /warn: UNREACHABLE/, 96, '96 attempts at retry_max 900 s'));

  console.log('agent flash writes per simulated day (state_dir, inotify)');
  for (const l of out) console.log(`  ${l}`);
  console.log('  goal: <= 2 a day granted, 0 pending and unreachable');
}

runMain(main, cleanups);
