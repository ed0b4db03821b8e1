/// <reference types="node" />
// Host side of the lab's end-to-end enrollment scenario (qemu/scenarios/e2e.sh,
// docs/enrollment.md "End to end in the lab"). Two commands, both run by
// qemu/lab.sh:
//
//   node .build/node/test/lab/e2e-host.js serve --sync DIR --state DIR [--timeout S] [--renew S]
//       while the guest boots and runs: a Primary Client and a Primary Server
//       (`pdmv2-primary serve`, each its own process on 127.0.0.1, i.e. the
//       guest's 10.0.2.2 through QEMU user networking), prefixes, pairing over
//       HTTP, one-time tokens, an analyzer key and the router's analyzer keys
//       exported sealed to it; then it answers the guest's requests.
//   node .build/node/test/lab/e2e-host.js check --state DIR GUEST_ARTIFACT_DIR
//       after the boot: the captures decoded by the analyzer CLI with the
//       exported keys.
//
// Both print "ok - ..." / "not ok - ..." lines and end with "N passed, M failed"
// (test/lab/checks.ts).
//
// Coordination with the guest goes through the 9p share (--sync DIR, the
// guest's /share/e2e-PID/sync), files written whole and renamed:
//   env             host -> guest, shell assignments: URLs, public keys, pairing,
//                   tokens, renew period (the guest waits for it)
//   req-NAME        guest -> host, one line of arguments; the host handles it once
//   done-NAME       host -> guest, first line "ok ..." or "error ...", then details
// Requests: token-NAME (a new one-time client token for CLIENT_P on the
// Primary Client, answered as "ok TOKEN"; qemu/scenarios/agent.sh), approve FINGERPRINT (wait until the Primary Client lists the device
// as pending, then approve it by fingerprint), restart-ps (kill -9 the Primary
// Server, start it again on the same port, key and database), revoke
// FINGERPRINT (on the Primary Client), done FINGERPRINT (final checks,
// primaries stopped, exit). The host never sleeps longer than its 100 ms polling interval.
//
// State (--state DIR, kept as lab artifacts; test keys only): pc/ and ps/
// (database, primary.key, primary.log), analyzer.key, rtr-keys.pdmk, env.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { check as report, finish, info } from './checks.js';
import { takeOption } from './cli-args.js';
import { ANALYZER_JS, exportRouterKeys, pairPrimaries, Primary, run, token, writeAtomic, type DeviceJson } from './lab-primaries.js';

export const CLIENT_P = '2001:db8:1::/64'; // the lab's LAN (qemu/scenarios/lib/lab.sh)
export const CLIENT_P_EXTRA = '2001:db8:3::/64'; // a second client prefix of the Primary Client, granted to no one
export const SERVER_P = '2001:db8:2::/64'; // the lab's WAN, where the server lives

/** report() that also returns the verdict. */
function check(name: string, ok: boolean, detail = ''): boolean {
  report(name, ok, detail);
  return ok;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// ---------------------------------------------------------------------------------------------
// serve

interface ServeOptions {
  sync: string;
  state: string;
  timeout: number;
  renew: number;
}

async function serve(o: ServeOptions): Promise<never> {
  rmSync(o.state, { recursive: true, force: true });
  mkdirSync(o.state, { recursive: true });
  mkdirSync(o.sync, { recursive: true });
  for (const f of readdirSync(o.sync)) rmSync(join(o.sync, f), { force: true });
  const pc = new Primary('pc', o.state, o.renew);
  const ps = new Primary('ps', o.state, o.renew);
  let finished = false;
  const end = async (why: string | null): Promise<never> => {
    if (!finished) {
      finished = true;
      if (why) check('the guest finished the e2e scenario', false, why);
      await Promise.all([pc.stop('SIGTERM'), ps.stop('SIGTERM')]);
    }
    return finish();
  };
  const stopOn = (sig: NodeJS.Signals): void => {
    process.once(sig, () => void end(`stopped by ${sig} before the guest said done (did the guest reach the e2e scenario?)`));
  };
  stopOn('SIGTERM');
  stopOn('SIGINT');

  // ---- the two primaries, prefixes, pairing, tokens, analyzer keys
  const token = async (p: Primary, role: string, prefix: string, ttl: string): Promise<string> =>
    (JSON.parse(await p.cli('token', 'create', '--role', role, '--prefix', prefix, '--ttl', ttl, '--json')) as { token: string }).token;
  let pairing = '';
  const env: Record<string, string> = {};
  try {
    await Promise.all([pc.start(), ps.start()]);
    check('Primary Client and Primary Server serve on 127.0.0.1 (the guest: 10.0.2.2)', true, `pc :${pc.port} ${pc.fingerprint}, ps :${ps.port} ${ps.fingerprint}, renew ${o.renew} s`);
    const paired = await pairPrimaries(pc, ps, [CLIENT_P, CLIENT_P_EXTRA], SERVER_P);
    pairing = paired.pairing;
    check(
      'pairing over HTTP (pair accept on the Primary Server, pair init on the Primary Client)',
      paired.ok,
      paired.detail,
    );
    env.SERVER_TOKEN = await token(ps, 'server', SERVER_P, '30m');
    env.CLIENT_TOKEN = await token(pc, 'client', CLIENT_P, '30m');
    env.EXPIRED_TOKEN = await token(pc, 'client', CLIENT_P, '1');
    const ex = await exportRouterKeys(pc, pairing, CLIENT_P, o.state);
    check('analyzer key made (analyzer-keygen); the router prefix keys exported sealed to it (export-keys)', ex.ok, ex.detail);
  } catch (e) {
    check('primaries set up', false, (e as Error).message);
    return end(null);
  }
  Object.assign(env, {
    PC_URL: `http://10.0.2.2:${pc.port}`,
    PS_URL: `http://10.0.2.2:${ps.port}`,
    PC_KEY: pc.pk,
    PS_KEY: ps.pk,
    PAIRING: pairing,
    CLIENT_P,
    CLIENT_P_EXTRA,
    SERVER_P,
    RENEW: String(o.renew),
  });
  const envText = Object.entries(env)
    .map(([k, v]) => `${k}=${v}\n`)
    .join('');
  writeFileSync(join(o.state, 'env'), envText);
  writeAtomic(join(o.sync, 'env'), envText);
  info(`env written to ${join(o.sync, 'env')}; waiting for the guest`);

  // ---- requests from the guest
  let serverGrantsAfterRestart = -1;
  const handlers: Record<string, (arg: string) => Promise<string>> = {
    token: async () => `ok ${await token(pc, 'client', CLIENT_P, '30m')}`,
    approve: async (fp) => {
      const t0 = Date.now();
      let dev: DeviceJson | undefined;
      while (!dev && Date.now() - t0 < 30000) {
        dev = (await pc.devices('pending')).find((d) => d.fingerprint === fp);
        if (!dev) await sleep(100);
      }
      if (!check('the router shows up as pending on the Primary Client under the fingerprint it printed', Boolean(dev), dev ? `requested ${dev.requested_prefixes.join(',')}, seen ${((Date.now() - t0) / 1000).toFixed(1)} s after the request` : 'not within 30 s')) {
        return 'error not pending';
      }
      const out = (await pc.cli('approve', fp)).trim();
      check('approved by fingerprint on the Primary Client', /^approved /.test(out), out);
      return `ok ${out}`;
    },
    'restart-ps': async () => {
      const pid = ps.proc?.pid;
      const before = (await ps.devices()).find((d) => d.role === 'server');
      await ps.stop('SIGKILL');
      await ps.start();
      check('Primary Server killed (SIGKILL) and restarted on the same port, key and database', ps.proc?.pid !== pid, `pid ${pid} -> ${ps.proc?.pid}, port ${ps.port}`);
      const after = (await ps.devices()).find((d) => d.role === 'server');
      const tokens = await ps.cli('token', 'list');
      check(
        'after the restart the Primary Server still has the server device (approved by token, no grant lost) and its spent token',
        Boolean(after && after.status === 'approved' && (after.approved_via ?? '').startsWith('token') && after.grants >= 1 && after.grants >= (before?.grants ?? 1)) && / used /.test(tokens),
        after ? `${after.fingerprint} ${after.status} via ${after.approved_via}, ${after.grants} grant(s)` : 'no server device',
      );
      serverGrantsAfterRestart = after?.grants ?? -1;
      return `ok restarted pid ${ps.proc?.pid}`;
    },
    revoke: async (fp) => {
      const out = (await pc.cli('revoke', fp)).trim();
      check('router revoked on the Primary Client', /^revoked /.test(out), out);
      return `ok ${out}`;
    },
    done: async (fp) => {
      const server = (await ps.devices()).find((d) => d.role === 'server');
      check(
        'the Primary Server issued renewals after its restart',
        Boolean(server && serverGrantsAfterRestart >= 0 && server.grants > serverGrantsAfterRestart),
        `grants ${serverGrantsAfterRestart} -> ${server?.grants}`,
      );
      const rtr = (await pc.devices()).find((d) => d.fingerprint === fp);
      check('the router stays revoked on the Primary Client', rtr?.status === 'revoked', rtr ? `${rtr.fingerprint} ${rtr.status}, ${rtr.grants} grant(s)` : `no device ${fp}`);
      return 'ok';
    },
  };
  const handled = new Set<string>();
  const deadline = Date.now() + o.timeout * 1000;
  while (Date.now() < deadline) {
    for (const f of readdirSync(o.sync).sort()) {
      const m = /^req-([a-z-]+)$/.exec(f);
      if (!m || handled.has(f)) continue;
      handled.add(f);
      const arg = readFileSync(join(o.sync, f), 'utf8').trim();
      const h = handlers[m[1]!] ?? (m[1]!.startsWith('token-') ? handlers.token : undefined);
      let answer: string;
      try {
        answer = h ? await h(arg) : `error unknown request ${m[1]}`;
      } catch (e) {
        check(`request ${m[1]} ${arg}`, false, (e as Error).message);
        answer = `error ${(e as Error).message}`;
      }
      writeAtomic(join(o.sync, `done-${m[1]}`), `${answer}\n`);
      if (m[1] === 'done') return end(null);
    }
    await sleep(100);
  }
  return end(`no 'done' from the guest within ${o.timeout} s`);
}

// ---------------------------------------------------------------------------------------------
// check

interface Rec {
  src: string;
  dst: string;
  protocol: number;
  option: { format?: string } | null;
  error: string | null;
  decryption?: string;
}

const inPrefix64 = (addr: string, prefix: string): boolean => addr.startsWith(prefix.replace(/::\/64$/, ':'));

async function decode(file: string, extra: string[]): Promise<{ code: number; recs: Rec[]; stderr: string }> {
  const r = await run(process.execPath, [ANALYZER_JS, 'decode', file, '--json', ...extra], 120000);
  let recs: Rec[] = [];
  if (r.code === 0) recs = JSON.parse(r.stdout) as Rec[];
  return { code: r.code, recs, stderr: r.stderr.trim() };
}

async function checkCaptures(state: string, dir: string): Promise<never> {
  const keys = join(state, 'rtr-keys.pdmk');
  const akey = join(state, 'analyzer.key');
  const env = Object.fromEntries(
    (existsSync(join(state, 'env')) ? readFileSync(join(state, 'env'), 'utf8') : '')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  ) as Record<string, string>;
  const traffic = join(dir, 'e2e-traffic-wan.pcap');
  const revoked = join(dir, 'e2e-revoked-wan.pcap');
  const missing = [keys, akey, traffic, revoked].filter((f) => !existsSync(f));
  if (missing.length > 0) {
    for (const f of missing) check(`input ${f}`, false, 'missing');
    return finish();
  }
  const withKeys = ['--keys', keys, '--analyzer-key', akey, '--primary-key', env.PC_KEY ?? ''];

  // the traffic capture: every encrypted option opens with the keys the Primary Client exported
  const t = await decode(traffic, withKeys);
  const enc = t.recs.filter((r) => r.decryption !== undefined);
  const opened = enc.filter((r) => r.decryption === 'ok');
  const bad = enc.filter((r) => r.decryption !== 'ok');
  const up = opened.filter((r) => inPrefix64(r.src, CLIENT_P));
  const down = opened.filter((r) => inPrefix64(r.dst, CLIENT_P));
  const protos = (rs: Rec[]): string => [...new Set(rs.map((r) => r.protocol))].sort((a, b) => a - b).join('/');
  check(
    'analyzer CLI opens every encrypted option of the traffic capture with the exported keys (export-keys, sealed, --analyzer-key, --primary-key)',
    t.code === 0 && enc.length > 0 && bad.length === 0,
    t.code === 0 ? `${opened.length} opened, ${bad.length} not (${[...new Set(bad.map((r) => r.decryption))].join(',') || '-'})` : t.stderr,
  );
  check('opened in both directions, with ICMPv6, UDP and TCP each way', protos(up) === '6/17/58' && protos(down) === '6/17/58', `lan->wan ${up.length} (${protos(up)}), wan->lan ${down.length} (${protos(down)})`);
  const unencrypted = t.recs.filter((r) => r.option && r.decryption === undefined);
  check('no PDM option in clear in the traffic capture', unencrypted.length === 0, `${unencrypted.length} clear/v1 options`);
  const plain = await decode(traffic, []);
  const noKey = plain.recs.filter((r) => r.error === 'NO_KEY').length;
  check('without keys the analyzer opens none of them', plain.code === 0 && noKey === enc.length, `${noKey} NO_KEY of ${enc.length}`);
  const wrong = await decode(traffic, ['--keys', keys, '--analyzer-key', akey, '--primary-key', env.PS_KEY ?? '0'.repeat(64)]);
  check('the sealed key file is refused when pinned to another primary (--primary-key of the Primary Server)', wrong.code === 1 && wrong.stderr.length > 0, wrong.stderr.split('\n')[0] ?? '');

  // after revocation: nothing encrypted from the LAN any more
  const r = await decode(revoked, [...withKeys, '--all']);
  const fromLan = r.recs.filter((x) => inPrefix64(x.src, CLIENT_P));
  const encFromLan = fromLan.filter((x) => x.decryption !== undefined || x.option);
  check(
    'after revocation the capture has packets from the LAN but no PDM option from it',
    r.code === 0 && fromLan.length > 0 && encFromLan.length === 0,
    r.code === 0 ? `${fromLan.length} packets from the LAN, ${encFromLan.length} with an option` : `the analyzer exited ${r.code}: ${r.stderr || 'nothing on stderr'}`,
  );
  return finish();
}

// ---------------------------------------------------------------------------------------------

async function main(argv: string[]): Promise<never> {
  const [cmd, ...rest] = argv;
  const opt = (name: string): string | undefined => takeOption(rest, name);
  if (cmd === 'serve') {
    const sync = opt('--sync');
    const state = opt('--state');
    const timeout = Number(opt('--timeout') ?? 1200);
    const renew = Number(opt('--renew') ?? 10);
    if (!sync || !state || rest.length) throw new Error('usage: e2e-host serve --sync DIR --state DIR [--timeout S] [--renew S]');
    return serve({ sync, state, timeout, renew });
  }
  if (cmd === 'check') {
    const state = opt('--state');
    if (!state || rest.length !== 1) throw new Error('usage: e2e-host check --state DIR GUEST_ARTIFACT_DIR');
    return checkCaptures(state, rest[0]!);
  }
  throw new Error('usage: e2e-host serve|check ... (see the header of test/lab/e2e-host.ts)');
}

main(process.argv.slice(2)).catch((e: unknown) => {
  check('e2e-host', false, (e as Error).message);
  finish();
});
