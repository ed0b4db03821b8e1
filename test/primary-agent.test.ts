/// <reference types="node" />
// The real agent bundle (.build/qjs/pdmv2d.mjs) on real QuickJS (build/qjs)
// against real primaries on 127.0.0.1, writing the kernel control file and
// the nft ruleset into a temp dir instead of /proc. Covers enrollment by token
// and by fingerprint approval with a real pairing, the daemon (pending poll,
// grant, renewal, revocation, SIGHUP, SIGTERM), rpcd, the negative cases
// (each with its message and nothing installed) and kill -9 during writes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { fromHex, toHex } from '../core/src/util/bytes.js';
import { MsgType } from '../core/src/enroll/codec.js';
import { parseEnrollResponse } from '../core/src/enroll/messages.js';
import { openResponse } from '../core/src/enroll/seal.js';
import { generationAt } from '../core/src/enroll/schedule.js';
import { clientPrefixSecret, serverGroupSecret } from '../core/src/keys/schedule.js';
import { parsePrefix } from '../core/src/wire/addr.js';
import { startPrimary, type RunningPrimary } from '../primary/src/main.js';
import { initiatePairing } from '../primary/src/pairing-service.js';
import { nodeRandom } from '../primary/src/fast-suite.js';
import { REPO, tempDir } from '../primary/test/harness.js';
import { newDb } from '../primary/test/backend.js';
import {
  agent as runAgent,
  agentDir as makeAgentDir,
  agentState,
  BUNDLE,
  daemon as startDaemon,
  QJS,
  waitFor,
  WriteCounter,
  type AgentDir,
  type AgentOptions,
  type Cleanups,
  type Daemon,
  type Run,
} from './agent-harness.js';

const PLUGIN = join(REPO, 'firmware', 'files', 'usr', 'libexec', 'rpcd', 'pdmv2');

const CLIENT_P = '2001:db8:1::/48';
const CLIENT_P2 = '2001:db8:2::/48';
const SERVER_P = '2001:db8:ff::/48';
const now = () => Math.floor(Date.now() / 1000);

const DEBUG = Boolean(process.env.PDMV2_TEST_DEBUG);
/** test() that reports a failure as it happens when PDMV2_TEST_DEBUG is set (uvu reports at the end). */
function check(name: string, fn: () => Promise<void>): void {
  test(name, async () => {
    try {
      await fn();
    } catch (e) {
      if (DEBUG) console.log(`FAILED ${name}:`, e);
      throw e;
    }
  });
}

const cleanups: Cleanups = [];
test.after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function primary(name: string): Promise<{ p: RunningPrimary; base: string; dir: string }> {
  const t = tempDir(name);
  const p = await startPrimary({
    db: await newDb(t.dir),
    key: join(t.dir, 'primary.key'),
    host: '127.0.0.1',
    port: 0,
    limits: { rate: 0 },
    config: { renewInterval: 3, pendingRetry: 1 },
  });
  cleanups.push(async () => {
    await p.close();
    t.cleanup();
  });
  return { p, base: `http://127.0.0.1:${p.port}`, dir: t.dir };
}

const agentDir = (name: string, o: AgentOptions): AgentDir => makeAgentDir(name, o, cleanups);
const agent = (d: AgentDir, ...args: string[]): Promise<Run> => runAgent(d, args, DEBUG);
const daemon = (d: AgentDir): Daemon => startDaemon(d, cleanups);
const stateJson = agentState;
/** Every file of the agent's state: the grant on flash and the run-time state. */
const stateFiles = (d: AgentDir): string =>
  [join(d.state, 'grant.json'), join(d.run, 'state.json')].map((f) => (existsSync(f) ? readFileSync(f, 'utf8') : '')).join('\n');

const control = (d: AgentDir): string => readFileSync(d.control, 'utf8');
function nothingInstalled(d: AgentDir): void {
  assert.is(control(d), '', 'nothing may be written to the kernel');
  const s = stateJson(d);
  assert.ok(!s || s.grant === null, 'no grant in the state file');
  assert.not.ok(existsSync(join(d.state, 'grant.json')), 'no grant on flash');
  assert.not.match(stateFiles(d), /"secret"|"sgs"/);
}

/** Key lines of the last installation: "key PAIRING GEN AEAD PREFIX SECRET". */
function keyLines(d: AgentDir): string[][] {
  return control(d)
    .split('\n')
    .filter((l) => l.startsWith('key '))
    .map((l) => l.split(' '));
}

/** SGS lines (server role): "sgs PAIRING GEN AEAD SGS PREFIX...". */
function sgsLines(d: AgentDir): string[][] {
  return control(d)
    .split('\n')
    .filter((l) => l.startsWith('sgs '))
    .map((l) => l.split(' '));
}

async function token(p: RunningPrimary, role: 'client' | 'server', prefixes: string[], ttl = 600): Promise<string> {
  return (await p.store.createToken({ role, prefixes, ttl, now: now() })).display;
}

// ---------------------------------------------------------------------------------------------

let pc: { p: RunningPrimary; base: string; dir: string };
let ps: { p: RunningPrimary; base: string; dir: string };
let pairingId = '';

check('setup: Primary Client and Primary Server pair over HTTP', async () => {
  pc = await primary('pc');
  ps = await primary('ps');
  await pc.p.store.addPrefix(CLIENT_P, 'client', now());
  await pc.p.store.addPrefix(CLIENT_P2, 'client', now());
  await ps.p.store.addPrefix(SERVER_P, 'server', now());
  await ps.p.store.addInvite(pc.p.identity.pk, 600, now());
  pairingId = await initiatePairing(
    pc.p.store,
    pc.p.identity,
    { url: ps.base, peerPk: ps.p.identity.pk, period: 3600, overlap: 600, dataAead: 1, mode: 'encrypted' },
    now,
    nodeRandom,
  );
  assert.equal((await pc.p.store.pairing(pairingId))!.pms, (await ps.p.store.pairing(pairingId))!.pms);
});

let serverDir: AgentDir;

check('server agent enrolls by token: the SGS and the client prefixes reach the kernel file (the module derives CS(P))', async () => {
  const tok = await token(ps.p, 'server', [SERVER_P]);
  serverDir = agentDir('server', { url: ps.base, pk: ps.p.identity.pk, role: 'server', prefixes: [SERVER_P], token: tok });
  const r = await agent(serverDir, 'enroll');
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^granted/);
  const pms = (await ps.p.store.pairing(pairingId))!.pms;
  const g = generationAt((await ps.p.store.pairing(pairingId))!, now());
  const sgs = serverGroupSecret(pms, g);
  const keys = sgsLines(serverDir).filter((k) => k[2] === String(g));
  assert.equal(
    keys.map((k) => k.slice(1)),
    [[pairingId, String(g), '1', toHex(sgs), CLIENT_P, CLIENT_P2]],
  );
  const text = control(serverDir);
  assert.ok(text.includes(`active ${pairingId} ${g}\n`));
  assert.not.ok(text.includes('peer '), 'server role: no peers, the client prefixes identify the pairing');
  assert.ok(text.trimEnd().endsWith('mode encrypted'), 'the mode is switched on last');
  const nft = readFileSync(serverDir.nft, 'utf8');
  assert.match(nft, /set peer6 \{[^}]*elements = \{ 2001:db8:1::\/48, 2001:db8:2::\/48 \}/);
  assert.match(nft, /chain out \{[^}]*ip6 daddr @peer6 meta mark set meta mark or 0x01000000/);
  assert.ok(readFileSync(serverDir.nftLog, 'utf8').includes(`-f ${serverDir.nft}`));
  assert.is(statSync(join(serverDir.state, 'device.key')).mode & 0o777, 0o600);
  assert.is(statSync(join(serverDir.state, 'grant.json')).mode & 0o777, 0o600);
  assert.is(statSync(join(serverDir.run, 'state.json')).mode & 0o777, 0o600);
  assert.not.match(readFileSync(join(serverDir.run, 'state.json'), 'utf8'), /"secret"|"sgs"/, 'no secret in the run-time state');
  const st = JSON.parse((await agent(serverDir, 'status', '--json')).stdout) as Record<string, unknown>;
  assert.is(st.status, 'granted');
  assert.not.match(JSON.stringify(st), /[0-9a-f]{64}/, 'status never shows a secret');
});

let routerDir: AgentDir;
let routerDaemon: Daemon;

check('router agent daemon: pending until approved by fingerprint, then its CS(P) matches what the server derives', async () => {
  routerDir = agentDir('router', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P] });
  const fp = (await agent(routerDir, 'fingerprint')).stdout.split('\n')[0]!;
  assert.match(fp, /^[A-Z2-7]{4}(-[A-Z2-7]{4}){5}$/);
  routerDaemon = daemon(routerDir);
  await waitFor('pending', () => stateJson(routerDir)?.status === 'pending');
  assert.is(control(routerDir), '');
  const dev = (await pc.p.store.deviceByFingerprint(fp))!;
  assert.equal([dev.status, dev.requestedPrefixes], ['pending', [CLIENT_P]]);
  await pc.p.store.approve(fp, { now: now() });
  // the keys reach the kernel before the ruleset is rewritten: wait for both (a loaded machine shows the gap)
  await waitFor(
    'grant installed',
    () => keyLines(routerDir).length > 0 && existsSync(routerDir.nft) && readFileSync(routerDir.nft, 'utf8').includes('elements') && stateJson(routerDir)?.status === 'granted',
  );
  const g = generationAt((await pc.p.store.pairing(pairingId))!, now());
  const router = keyLines(routerDir).find((k) => k[2] === String(g) && k[4] === CLIENT_P)!;
  const server = sgsLines(serverDir).find((k) => k[2] === String(g))!;
  assert.is(router[5], toHex(clientPrefixSecret(fromHex(server[4]!), parsePrefix(CLIENT_P))), 'router CS(P) = CS(P) derived from the SGS the server got');
  const nft = readFileSync(routerDir.nft, 'utf8');
  assert.match(nft, /set local6 \{[^}]*elements = \{ 2001:db8:1::\/48 \}/);
  assert.match(nft, /set peer6 \{[^}]*elements = \{ 2001:db8:ff::\/48 \}/);
  const st = JSON.parse((await agent(routerDir, 'status', '--json')).stdout) as { running: boolean; status: string; pid: number };
  assert.equal([st.running, st.status, st.pid], [true, 'granted', routerDaemon.pid]);
});

check('footprint: RSS of the idle daemon (after renewals) and the bundle size', async () => {
  await waitFor('two renewals', () => routerDaemon.log.filter((l) => l.includes('renewed')).length >= 2, 20000);
  await new Promise((r) => setTimeout(r, 300));
  const status = readFileSync(`/proc/${routerDaemon.pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]);
  const hwm = Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]);
  const size = statSync(join(REPO, '.build', 'qjs', 'pdmv2d.min.mjs')).size;
  console.log(`\n  [footprint] pdmv2d.min.mjs ${size} octets; daemon RSS ${rss} kB (peak ${hwm} kB)`);
  assert.ok(rss <= 6 * 1024, `RSS ${rss} kB > 6 MB`);
});

check('renewal keeps the same secrets; revocation wipes the kernel, the ruleset and the state within a renew period', async () => {
  const before = keyLines(routerDir).length;
  const renewals = routerDaemon.log.filter((l) => l.includes('renewed')).length;
  const flash = new WriteCounter(routerDir.state);
  await waitFor('a renewal', () => routerDaemon.log.filter((l) => l.includes('renewed')).length > renewals, 15000);
  await new Promise((r) => setTimeout(r, 200));
  flash.close();
  assert.equal(flash.names, [], 'a renewal with the same keys writes nothing to flash (state_dir)');
  const lines = keyLines(routerDir);
  assert.is(lines.length, before, 'a renewal that changes nothing writes nothing to the kernel');
  const bySlot = new Map<string, string>();
  for (const k of lines) {
    const slot = k.slice(1, 5).join(' ');
    if (bySlot.has(slot)) assert.is(bySlot.get(slot), k[5], `same secret for ${slot}`);
    bySlot.set(slot, k[5]!);
  }
  const fp = (await agent(routerDir, 'fingerprint')).stdout.split('\n')[0]!;
  await pc.p.store.revoke(fp, now());
  await waitFor('wipe', () => control(routerDir).endsWith('mode off\nkeyflush\n'), 15000);
  // the run-time state (status) is saved before the grant leaves flash: wait for both
  await waitFor('state', () => stateJson(routerDir)?.status === 'revoked' && !existsSync(join(routerDir.state, 'grant.json')));
  const s = stateJson(routerDir)!;
  assert.is(s.grant, null);
  assert.not.ok(existsSync(join(routerDir.state, 'grant.json')), 'the revoked grant is gone from flash');
  const saved = stateFiles(routerDir);
  for (const secret of bySlot.values()) assert.not.ok(saved.includes(secret), 'no secret left in the state file');
  assert.match(readFileSync(routerDir.nft, 'utf8'), /table removed/);
  const r = await agent(routerDir, 'status');
  assert.match(r.stdout, /status\s+revoked/);
  assert.match(r.stdout, /REVOKED/);
});

check('SIGTERM: clean exit, pid file removed, keys wiped from the kernel', async () => {
  const exited = new Promise<number | null>((r) => routerDaemon.on('exit', (code) => r(code)));
  routerDaemon.kill('SIGTERM');
  assert.is(await exited, 0);
  assert.not.ok(existsSync(join(routerDir.dir, 'run', 'pdmv2d.pid')));
  assert.ok(control(routerDir).endsWith('mode off\nkeyflush\n'));
});

check('SIGHUP and rpcd: disable wipes, enable re-enrolls; list, call status, call flows', async () => {
  const d = daemon(serverDir);
  await waitFor('pid file', () => existsSync(join(serverDir.dir, 'run', 'pdmv2d.pid')));
  const list = await agent(serverDir, 'list');
  assert.equal(JSON.parse(list.stdout), { status: {}, enable: {}, disable: {}, enroll: {}, flows: {} });
  const dis = await agent(serverDir, 'call', 'disable');
  assert.equal(JSON.parse(dis.stdout), { enabled: false, daemon: 'signalled' });
  assert.match(readFileSync(serverDir.config, 'utf8'), /option enabled '0'/);
  assert.match(readFileSync(serverDir.config, 'utf8'), /^# pdmv2 test configuration/, 'comments are kept');
  await waitFor('wipe after SIGHUP', () => control(serverDir).endsWith('mode off\nkeyflush\n'));
  await waitFor('disabled', () => stateJson(serverDir)?.status === 'disabled');
  const keysBefore = sgsLines(serverDir).length;
  const en = await agent(serverDir, 'call', 'enable');
  assert.equal(JSON.parse(en.stdout), { enabled: true, daemon: 'signalled' });
  // the kernel is written before the state is saved: wait for both
  await waitFor(
    're-enrolled',
    () => sgsLines(serverDir).length > keysBefore && control(serverDir).trimEnd().endsWith('mode encrypted') && stateJson(serverDir)?.status === 'granted',
  );
  const st = JSON.parse((await agent(serverDir, 'call', 'status')).stdout) as Record<string, unknown>;
  assert.equal([st.status, st.running, st.enabled], ['granted', true, true]);
  writeFileSync(
    join(serverDir.dir, 'flows'),
    '# saddr sport daddr dport proto psn_next psn_last_rx tx_packets rx_packets age_s idle_s pmtu\n2001:db8:ff::1 443 2001:db8:1::5 51000 6 17 -0 3 0 1 0 1500\n',
  );
  const flows = JSON.parse((await agent(serverDir, 'call', 'flows')).stdout) as { flows: Record<string, unknown>[] };
  assert.equal(flows.flows, [
    { saddr: '2001:db8:ff::1', sport: 443, daddr: '2001:db8:1::5', dport: 51000, proto: 6, psn_next: 17, psn_last_rx: null, tx_packets: 3, rx_packets: 0, age_s: 1, idle_s: 0, pmtu: 1500 },
  ]);
  // the plugin (what rpcd runs) answers status and flows as the agent does, without QuickJS
  const pdmv2d = join(serverDir.dir, 'pdmv2d');
  writeFileSync(pdmv2d, `#!/bin/sh\nexec ${QJS} --std -m ${BUNDLE} "$@"\n`);
  chmodSync(pdmv2d, 0o755);
  const viaPlugin = (method: string): Record<string, unknown> =>
    JSON.parse(execFileSync(PLUGIN, ['call', method], { input: '{}', env: { ...process.env, PDMV2_CONFIG: serverDir.config, PDMV2D: pdmv2d } }).toString()) as Record<string, unknown>;
  // the daemon renews every 3 s here: compare a plugin answer with agent answers on both sides of it
  const keys = ['fingerprint', 'status', 'role', 'mode', 'primary_url', 'config_errors', 'granted', 'installed', 'clock_offset', 'enabled', 'running', 'pid', 'last_success'];
  const pick = (r: Record<string, unknown>): string => JSON.stringify([keys.map((k) => r[k]), (r.kernel as { present: boolean }).present]);
  let same = false;
  let seen = '';
  // on a loaded host three status calls can outlast a renewal period: try until one round falls between two
  for (let i = 0; i < 25 && !same; i++) {
    const before = pick(JSON.parse((await agent(serverDir, 'call', 'status')).stdout) as Record<string, unknown>);
    const sp = pick(viaPlugin('status'));
    const after = pick(JSON.parse((await agent(serverDir, 'call', 'status')).stdout) as Record<string, unknown>);
    same = before === after && sp === after;
    seen = `agent ${after}\nplugin ${sp}`;
  }
  assert.ok(same, `plugin status equals the agent's: ${seen}`);
  assert.equal(viaPlugin('flows').flows, flows.flows);
  assert.equal(viaPlugin('enroll'), { triggered: true }, 'enroll through the plugin reaches the daemon');
  const trig = await agent(serverDir, 'call', 'enroll');
  assert.equal(JSON.parse(trig.stdout), { triggered: true });
  const grantBefore = readFileSync(join(serverDir.state, 'grant.json'), 'utf8');
  const exited = new Promise<number | null>((r) => d.on('exit', (code) => r(code)));
  d.kill('SIGTERM');
  assert.is(await exited, 0);
  assert.ok(control(serverDir).endsWith('mode off\nkeyflush\n'), 'a stopped agent leaves no key in the kernel');
  assert.match(readFileSync(serverDir.nft, 'utf8'), /table removed/);
  assert.is(readFileSync(join(serverDir.state, 'grant.json'), 'utf8'), grantBefore, 'the grant stays on flash for the next start');
  // the next start installs the saved grant before asking the primary (same boot: run-time state present)
  const again = daemon(serverDir);
  await waitFor('reinstalled', () => control(serverDir).trimEnd().endsWith('mode encrypted'));
  const stopped = new Promise<number | null>((r) => again.on('exit', (code) => r(code)));
  again.kill('SIGTERM');
  assert.is(await stopped, 0);
  // the init script's service_stopped: nothing running, keys wiped, grant kept
  writeFileSync(serverDir.control, 'key x\n');
  const w = await agent(serverDir, 'wipe', '--kernel');
  assert.is(w.code, 0, w.stdout);
  assert.ok(control(serverDir).endsWith('mode off\nkeyflush\n'));
  assert.is(readFileSync(join(serverDir.state, 'grant.json'), 'utf8'), grantBefore);
});

check('epoch memory: copied into run_dir (never flash) at each check and after the stop wipe, written back before any key into a reloaded module', async () => {
  // the module's /proc/net/pdmv2/epochs stand-in, beside the control file
  const moduleEpochs = join(serverDir.dir, 'epochs');
  const saved = join(serverDir.run, 'epochs');
  const header = '# pairing generation base next\n';
  // a daemon that a failed test before this one left running would keep this one from starting
  const pidFile = join(serverDir.run, 'pdmv2d.pid');
  if (existsSync(pidFile)) {
    try {
      process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGTERM');
    } catch {
      // gone already
    }
    await waitFor('the earlier daemon stopped', () => !existsSync(pidFile));
  }
  const g = generationAt((await ps.p.store.pairing(pairingId))!, now());
  writeFileSync(moduleEpochs, `${header}epoch ${pairingId} ${g} 17 3\n`);
  writeFileSync(serverDir.control, '');
  let d = daemon(serverDir);
  await waitFor('installed', () => control(serverDir).trimEnd().endsWith('mode encrypted'));
  await waitFor('copied at the check', () => existsSync(saved) && readFileSync(saved, 'utf8').includes(`epoch ${pairingId} ${g} 17 3\n`));
  assert.not.match(control(serverDir), /^epoch /m, 'a module that holds its memory is not given it again');
  // flows took more epochs; the stop wipes the keys, then copies what the module holds
  writeFileSync(moduleEpochs, `${header}epoch ${pairingId} ${g} 17 9\n`);
  let exited = new Promise<number | null>((r) => d.on('exit', (code) => r(code)));
  d.kill('SIGTERM');
  assert.is(await exited, 0);
  assert.match(readFileSync(saved, 'utf8'), new RegExp(`^epoch ${pairingId} ${g} 17 9$`, 'm'), 'the copy taken after the wipe');
  assert.is(statSync(saved).mode & 0o777, 0o600);
  assert.not.ok(existsSync(join(serverDir.state, 'epochs')), 'nothing of it on flash');
  // the module is reloaded: an empty memory, an empty control file
  writeFileSync(moduleEpochs, header);
  writeFileSync(serverDir.control, '');
  d = daemon(serverDir);
  await waitFor('reinstalled', () => control(serverDir).trimEnd().endsWith('mode encrypted'));
  const lines = control(serverDir).split('\n');
  const restored = lines.indexOf(`epoch ${pairingId} ${g} 17 9`);
  const firstKey = lines.findIndex((l) => l.startsWith('sgs ') || l.startsWith('key '));
  assert.ok(restored >= 0 && firstKey > restored, `the memory is written back before the first key:\n${lines.slice(0, 4).join('\n')}`);
  exited = new Promise<number | null>((r) => d.on('exit', (code) => r(code)));
  d.kill('SIGTERM');
  assert.is(await exited, 0);
  // a copy the module's newer generation replaces; a bad line is skipped, never written back
  writeFileSync(moduleEpochs, `${header}epoch ${pairingId} ${g + 1} 5 1\nepoch zz 1 2 3\n`);
  const w = await agent(serverDir, 'wipe', '--kernel');
  assert.is(w.code, 0, w.stdout);
  assert.is(readFileSync(saved, 'utf8').split('\n').filter((l) => l.startsWith('epoch ')).join('\n'), `epoch ${pairingId} ${g + 1} 5 1`);
  rmSync(moduleEpochs);
});

// ---------------------------------------------------------------------------------------------
// negative cases: a clear message, nothing installed

check('wrong primary public key: refused by the primary, message says so, nothing installed', async () => {
  const tok = await token(pc.p, 'client', [CLIENT_P]);
  const d = agentDir('wrongkey', { url: pc.base, pk: ps.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: tok });
  const r = await agent(d, 'enroll');
  assert.is(r.code, 1);
  assert.match(r.stdout, /UNAUTHENTICATED.*configured primary public key is probably wrong/);
  nothingInstalled(d);
  const st = await agent(d, 'status');
  assert.match(st.stdout, /last error\s+UNAUTHENTICATED/);
});

async function proxy(target: string, mutate: (req: Uint8Array, res: Uint8Array, n: number) => { req?: Uint8Array; res?: Uint8Array }): Promise<string> {
  let n = 0;
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = new Uint8Array(Buffer.concat(chunks));
      const first = mutate(body, new Uint8Array(0), n);
      const up = await fetch(`${target}${req.url}`, { method: 'POST', body: first.req ?? body });
      let out: Uint8Array = new Uint8Array(await up.arrayBuffer());
      out = mutate(body, out, n++).res ?? out;
      res.writeHead(up.status, { 'content-type': 'application/octet-stream', 'content-length': out.length });
      res.end(out);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.address();
  return `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
}

check('tampered response: refused by the agent, nothing installed (and the token is spent on the primary)', async () => {
  const tok = await token(pc.p, 'client', [CLIENT_P]);
  const url = await proxy(pc.base, (_q, res) => {
    if (res.length === 0) return {};
    const t = res.slice();
    t[t.length - 20]! ^= 0x01;
    return { res: t };
  });
  const d = agentDir('tampered', { url, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: tok });
  const r = await agent(d, 'enroll');
  assert.is(r.code, 1);
  assert.match(r.stdout, /RESPONSE_UNAUTHENTICATED.*altered in transit/);
  nothingInstalled(d);
});

check('replayed request: the primary answers REPLAY; a replayed exchange is refused by the agent', async () => {
  const tok = await token(pc.p, 'client', [CLIENT_P]);
  let firstReq: Uint8Array | null = null;
  const url = await proxy(pc.base, (req, res, n) => {
    if (res.length === 0 && n === 0) firstReq = req;
    if (res.length === 0 && n === 1) return { req: firstReq! }; // attacker replays the first request upstream
    return {};
  });
  const d = agentDir('replay', { url, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P2], token: tok });
  assert.is((await agent(d, 'enroll')).code, 4); // PREFIX_NOT_AUTHORISED for 2001:db8:2::/48: first exchange
  const r = await agent(d, 'enroll');
  assert.is(r.code, 1);
  assert.match(r.stdout, /RESPONSE_UNAUTHENTICATED/);
  nothingInstalled(d);
  // the primary's own answer to the replay, opened with the device key: REPLAY
  const up = await fetch(`${pc.base}/v1/enroll`, { method: 'POST', body: firstReq! });
  const sk = fromHex(readFileSync(join(d.state, 'device.key'), 'ascii').trim());
  const plain = openResponse({ type: MsgType.EnrollResponse, envelope: new Uint8Array(await up.arrayBuffer()), request: firstReq!, recipientSk: sk, senderPk: pc.p.identity.pk });
  const resp = parseEnrollResponse(plain);
  assert.ok(resp.ok && resp.value.status === 'rejected' && resp.value.reason === 'REPLAY');
});

check('token used twice, expired token, prefix outside the authorisation: each refused with its message, nothing installed', async () => {
  const tok = await token(pc.p, 'client', [CLIENT_P]);
  const a = agentDir('tok-a', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: tok });
  assert.is((await agent(a, 'enroll')).code, 0);
  const b = agentDir('tok-b', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: tok });
  const rb = await agent(b, 'enroll');
  assert.is(rb.code, 4);
  assert.match(rb.stdout, /TOKEN_USED.*already been used by another device/);
  nothingInstalled(b);

  const expired = (await pc.p.store.createToken({ role: 'client', prefixes: [CLIENT_P], ttl: 1, now: now() - 10 })).display;
  const c = agentDir('tok-exp', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: expired });
  const rc = await agent(c, 'enroll');
  assert.is(rc.code, 4);
  assert.match(rc.stdout, /TOKEN_EXPIRED.*expired/);
  nothingInstalled(c);

  const narrow = await token(pc.p, 'client', [CLIENT_P]);
  const e = agentDir('prefix', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P, CLIENT_P2], token: narrow });
  const re = await agent(e, 'enroll');
  assert.is(re.code, 4);
  assert.match(re.stdout, /PREFIX_NOT_AUTHORISED.*outside the device's authorisation: 2001:db8:2::\/48/);
  nothingInstalled(e);
  const st = await agent(e, 'status');
  assert.match(st.stdout, /status\s+rejected/);
});

check('revoked device: enroll reports it and installs nothing', async () => {
  const tok = await token(pc.p, 'client', [CLIENT_P]);
  const d = agentDir('revoked', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: tok });
  const fp = (await agent(d, 'fingerprint')).stdout.split('\n')[0]!;
  assert.is((await agent(d, 'enroll')).code, 0);
  await pc.p.store.revoke(fp, now());
  writeFileSync(d.control, '');
  const r = await agent(d, 'enroll');
  assert.is(r.code, 4);
  assert.match(r.stdout, /revoked/);
  assert.is(control(d), 'mode off\nkeyflush\n');
  assert.is(stateJson(d)!.grant, null);
});

check('unreachable primary; wget and uclient-fetch enroll and report HTTP errors', async () => {
  const d = agentDir('unreach', { url: 'http://127.0.0.1:9', pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P] });
  const r = await agent(d, 'enroll');
  assert.is(r.code, 1);
  assert.match(r.stdout, /error \(UNREACHABLE\): curl: .*127\.0\.0\.1:9/);
  nothingInstalled(d);
  const tok = await token(pc.p, 'client', [CLIENT_P]);
  const w = agentDir('wget', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: tok, extra: "\toption http_client 'wget'" });
  const rw = await agent(w, 'enroll');
  assert.is(rw.code, 0, rw.stdout + rw.stderr);
  assert.ok(keyLines(w).length > 0);
  const wrong = agentDir('wget-401', { url: pc.base, pk: ps.p.identity.pk, role: 'client', prefixes: [CLIENT_P], extra: "\toption http_client 'wget'" });
  const r401 = await agent(wrong, 'enroll');
  assert.match(r401.stdout, /UNAUTHENTICATED/);

  // uclient-fetch is not on this machine: a stand-in with its interface and its
  // error reporting (openwrt/uclient uclient-fetch.c: body to -O only for 2xx,
  // "HTTP error N" on stderr and exit 8 otherwise).
  const u = agentDir('uclient', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: await token(pc.p, 'client', [CLIENT_P]), extra: "\toption http_client 'uclient-fetch'" });
  const bin = join(u.dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'uclient-fetch'),
    [
      '#!/bin/sh',
      'for a; do case "$a" in --post-file=*) F="${a#--post-file=}";; --timeout=*) T="${a#--timeout=}";; --header=*) H="${a#--header=}";; http*) U="$a";; esac; done',
      'out=$(mktemp); code=$(curl -s -o "$out" -w "%{http_code}" --data-binary @"$F" -H "$H" --max-time "$T" "$U") || { echo "Connection error: Connection failed" >&2; rm -f "$out"; exit 4; }',
      'echo "Writing to stdout" >&2',
      'case "$code" in 2*) cat "$out"; rm -f "$out"; exit 0;; *) echo "HTTP error $code" >&2; rm -f "$out"; exit 8;; esac',
      '',
    ].join('\n'),
  );
  chmodSync(join(bin, 'uclient-fetch'), 0o755);
  u.env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
  const ru = await agent(u, 'enroll');
  assert.is(ru.code, 0, ru.stdout + ru.stderr);
  const uw = agentDir('uclient-401', { url: pc.base, pk: ps.p.identity.pk, role: 'client', prefixes: [CLIENT_P], extra: "\toption http_client 'uclient-fetch'" });
  uw.env = u.env;
  assert.match((await agent(uw, 'enroll')).stdout, /UNAUTHENTICATED.*HTTP 401/);
});

check('prefixes from an interface through ubus (fake ubus on PATH)', async () => {
  const tok = await token(pc.p, 'client', [CLIENT_P]);
  const d = agentDir('ubus', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [], token: tok, extra: "\tlist interface 'lan'" });
  const bin = join(d.dir, 'bin');
  mkdirSync(bin);
  const status = {
    up: true,
    'ipv6-address': [{ address: 'fe80::1', mask: 64 }],
    'ipv6-prefix-assignment': [{ address: '2001:db8:1::', mask: 48, 'local-address': { address: '2001:db8:1::1', mask: 48 } }],
  };
  writeFileSync(join(bin, 'ubus'), `#!/bin/sh\n[ "$1 $2 $3" = "call network.interface.lan status" ] || exit 4\necho '${JSON.stringify(status)}'\n`);
  chmodSync(join(bin, 'ubus'), 0o755);
  d.env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
  const r = await agent(d, 'enroll');
  assert.is(r.code, 0, r.stdout + r.stderr);
  assert.equal((stateJson(d)!.grant as { prefixes: string[] }).prefixes, [CLIENT_P]);
  assert.ok(keyLines(d).every((k) => k[4] === CLIENT_P));
});

check('interface trigger (a reload, SIGHUP): a moved delegated prefix is enrolled at once, an unchanged one is not', async () => {
  const t = tempDir('pr');
  const pr = await startPrimary({ db: join(t.dir, 'p.db'), key: join(t.dir, 'k'), host: '127.0.0.1', port: 0, limits: { rate: 0 }, config: { renewInterval: 600, pendingRetry: 1 } });
  cleanups.push(async () => {
    await pr.close();
    t.cleanup();
  });
  pr.store.addPrefix(CLIENT_P, 'client', now());
  pr.store.addPrefix(CLIENT_P2, 'client', now());
  const tok = (await pr.store.createToken({ role: 'client', prefixes: [CLIENT_P, CLIENT_P2], ttl: 600, now: now() })).display;
  const d = agentDir('iftrigger', { url: `http://127.0.0.1:${pr.port}`, pk: pr.identity.pk, role: 'client', prefixes: [], token: tok, extra: "\tlist interface 'lan'" });
  const bin = join(d.dir, 'bin');
  mkdirSync(bin);
  const ubus = (prefix: string): void => {
    const [address, mask] = prefix.split('/');
    const status = { up: true, 'ipv6-prefix-assignment': [{ address, mask: Number(mask) }] };
    writeFileSync(join(bin, 'ubus'), `#!/bin/sh\n[ "$1 $2 $3" = "call network.interface.lan status" ] || exit 4\necho '${JSON.stringify(status)}'\n`);
    chmodSync(join(bin, 'ubus'), 0o755);
  };
  ubus(CLIENT_P);
  d.env = { PATH: `${bin}:${process.env.PATH ?? ''}` };
  const dm = daemon(d);
  const grantedLines = (): number => dm.log.filter((l) => /info: (granted|renewed)/.test(l)).length;
  // the daemon logs "granted" before it saves the state: wait for both
  await waitFor('granted', () => grantedLines() >= 1 && stateJson(d)?.grant);
  assert.equal((stateJson(d)!.grant as { prefixes: string[] }).prefixes, [CLIENT_P]);
  dm.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 1500));
  assert.is(grantedLines(), 1, 'a reload with the same prefixes asks nothing (the renewal is 600 s away)');
  ubus(CLIENT_P2);
  dm.kill('SIGHUP');
  await waitFor('the moved prefix granted', () => (stateJson(d)?.grant as { prefixes: string[] } | null)?.prefixes?.[0] === CLIENT_P2, 5000);
  assert.is(grantedLines(), 2);
});

/** A proxy that holds each answer while `held` is set: an exchange kept in flight on purpose. */
async function holdingProxy(target: string): Promise<{ url: string; held: boolean; received: number; answered: number }> {
  const h = { url: '', held: false, received: 0, answered: 0 };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      h.received++;
      const up = await fetch(`${target}${req.url}`, { method: 'POST', body: Buffer.concat(chunks) });
      const out = new Uint8Array(await up.arrayBuffer());
      while (h.held) await new Promise((r) => setTimeout(r, 50));
      res.writeHead(up.status, { 'content-type': 'application/octet-stream', 'content-length': out.length });
      res.end(out, () => h.answered++);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  const a = server.address();
  h.url = `http://127.0.0.1:${typeof a === 'object' && a ? a.port : 0}`;
  return h;
}

check('disabled while a renewal is in flight: its answer installs nothing and keeps no grant', async () => {
  const tok = await token(pc.p, 'client', [CLIENT_P]);
  const px = await holdingProxy(pc.base);
  const d = agentDir('inflight', { url: px.url, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: tok });
  const dm = daemon(d);
  await waitFor('granted', () => stateJson(d)?.status === 'granted' && control(d).trimEnd().endsWith('mode encrypted'));
  px.held = true;
  const asked = px.received;
  await waitFor('a renewal in flight', () => px.received > asked, 10000);
  writeFileSync(d.config, readFileSync(d.config, 'utf8').replace("option enabled '1'", "option enabled '0'"));
  dm.kill('SIGHUP');
  await waitFor('the wipe', () => control(d).endsWith('mode off\nkeyflush\n'), 5000);
  const answered = px.answered;
  px.held = false;
  await waitFor('the held answer delivered', () => px.answered > answered, 5000);
  await new Promise((r) => setTimeout(r, 1500));
  assert.ok(control(d).endsWith('mode off\nkeyflush\n'), `nothing written to the kernel after the wipe: ${control(d).slice(-120)}`);
  const s = stateJson(d)!;
  assert.equal([s.status, s.grant, s.next_attempt], ['disabled', null, null], 'the state says disabled, with no grant and no attempt planned');
  assert.not.ok(existsSync(join(d.state, 'grant.json')), 'no grant on flash');
  assert.match(readFileSync(d.nft, 'utf8'), /table removed/, 'the nft table stays removed');
  const after = dm.log.slice(dm.log.findIndex((l) => l.includes('disabled: wiping secrets')));
  assert.equal(after.filter((l) => /granted|renewed/.test(l)), [], 'no grant or renewal logged after the disable');
});

check('switched off and on again at any moment of the renewal loop: granted again each time', async () => {
  const tok = await token(pc.p, 'client', [CLIENT_P]);
  const d = agentDir('onoff', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: tok });
  const dm = daemon(d);
  await waitFor('granted', () => stateJson(d)?.status === 'granted');
  const setEnabled = (on: boolean): void => {
    writeFileSync(d.config, readFileSync(d.config, 'utf8').replace(/option enabled '[01]'/, `option enabled '${on ? 1 : 0}'`));
    dm.kill('SIGHUP');
  };
  for (let i = 0; i < 8; i++) {
    setEnabled(false);
    await new Promise((r) => setTimeout(r, i * 150));
    setEnabled(true);
    await waitFor(`round ${i}: granted and installed again`, () => stateJson(d)?.status === 'granted' && control(d).trimEnd().endsWith('mode encrypted'), 15000).catch((e: Error) => {
      throw new Error(`${e.message}\n${dm.log.slice(-12).join('\n')}`);
    });
    await new Promise((r) => setTimeout(r, 700));
  }
});

check('bad configuration is reported, not acted on', async () => {
  const d = agentDir('badcfg', { url: 'ftp://x', pk: 'abc', role: 'router', prefixes: ['2001:db8::1/32'] });
  const r = await agent(d, 'enroll');
  assert.is(r.code, 1);
  assert.match(r.stdout, /CONFIG/);
  assert.match(r.stdout, /primary_url/);
  assert.match(r.stdout, /primary_key/);
  assert.match(r.stdout, /role 'router'/);
  assert.match(r.stdout, /host bits/);
  assert.is(control(d), '');
});

check('kill -9 at random moments never leaves a broken state file or key', async () => {
  const tok = await token(pc.p, 'client', [CLIENT_P]);
  const d = agentDir('kill9', { url: pc.base, pk: pc.p.identity.pk, role: 'client', prefixes: [CLIENT_P], token: tok });
  assert.is((await agent(d, 'enroll')).code, 0);
  const key = readFileSync(join(d.state, 'device.key'), 'ascii');
  for (let i = 0; i < 12; i++) {
    const c = spawn(QJS, ['--std', '-m', BUNDLE, '--config', d.config, 'enroll'], { stdio: 'ignore' });
    const exited = new Promise((r) => c.on('exit', r));
    await new Promise((r) => setTimeout(r, 20 + Math.random() * 150));
    c.kill('SIGKILL');
    await exited;
    const s = stateJson(d)!; // must parse
    assert.ok(s.status === 'granted', `iteration ${i}: ${String(s.status)}`);
    assert.is(readFileSync(join(d.state, 'device.key'), 'ascii'), key);
  }
  assert.is((await agent(d, 'enroll')).code, 0);
});

test.run();
