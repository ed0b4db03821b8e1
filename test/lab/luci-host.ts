/// <reference types="node" />
// Host side of the LuCI lab scenario (qemu/scenarios/luci.sh, docs/luci.md
// "The browser test"), run by qemu/lab.sh alongside the boot:
//
//   node .build/node/test/lab/luci-host.js serve --sync DIR --state DIR --url URL
//        --shots DIR [--timeout S] [--keep]
//
// It starts a Primary Client and a Primary Server (test/lab/lab-primaries.ts),
// pairs them, makes the server's token, an analyzer key and the router's
// exported keys, writes the env the guest waits for (with the stand-in's
// passwords), then drives Debian's headless Chromium (test/browser/launch.ts)
// through the pages the guest serves at URL (the host's forwarded port), and
// asks the guest for what only it can do (traffic with a capture, the
// module's mode, stopping the agent, unloading the module, breaking UCI,
// cutting the primary off) through the share: sync/req-N with one command
// line, sync/done-N with its output (first line "ok" or "error ...").
// --keep leaves the lab up after the test until Ctrl-C (npm run demo).
//
// Every response the browser receives is kept and searched for the lab's
// secrets; any page error, console error or failed request fails the test.
// Output: "ok - ..." / "not ok - ..." lines, last "N passed, M failed".
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'puppeteer-core';
import { launchBrowser } from '../browser/launch.js';
import { check as report, finish, info } from './checks.js';
import { takeFlag, takeOption } from './cli-args.js';
import { ANALYZER_JS, exportRouterKeys, pairPrimaries, Primary, run, token, writeAtomic } from './lab-primaries.js';

const CLIENT_P = '2001:db8:1::/64'; // the lab's LAN (qemu/scenarios/lib/lab.sh)
const SERVER_P = '2001:db8:2::/64';
// the LAN host's echo requests as the module keys them: identifier as both ports
const ICMP_FLOW_RE = /^2001:db8:1::2 (\d+) 2001:db8:2::2 (\d+) 58 /;

function check(name: string, ok: boolean, detail = ''): boolean {
  report(name, ok, detail);
  return ok;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Options {
  sync: string;
  state: string;
  url: string;
  captures: string;
  shots: string;
  timeout: number;
  keep: boolean;
}

// ---- the guest's side, through the share --------------------------------------------------

class Guest {
  private n = 0;
  constructor(
    readonly sync: string,
    readonly timeoutMs: number,
  ) {}

  /** One command of luci.sh's act(); resolves with its output, ok or not. */
  async ask(line: string, timeoutMs = this.timeoutMs): Promise<{ ok: boolean; out: string }> {
    const n = this.n++;
    writeAtomic(join(this.sync, `req-${n}`), `${line}\n`);
    const done = join(this.sync, `done-${n}`);
    const t0 = Date.now();
    while (!existsSync(done)) {
      if (Date.now() - t0 > timeoutMs) return { ok: false, out: `no answer to '${line}' within ${timeoutMs / 1000} s` };
      await sleep(100);
    }
    const text = readFileSync(done, 'utf8');
    const [first, ...rest] = text.split('\n');
    return { ok: first === 'ok', out: rest.join('\n').trim() };
  }

  /** ask() that also records a check. */
  async must(name: string, line: string, timeoutMs?: number): Promise<string> {
    const r = await this.ask(line, timeoutMs);
    check(name, r.ok, r.out.split('\n').slice(-3).join(' | '));
    return r.out;
  }
}

// ---- the browser ------------------------------------------------------------------------------

interface Seen {
  errors: string[];
  bodies: { url: string; body: string }[];
}

function watch(page: Page, seen: Seen): void {
  page.on('console', (m) => {
    if (m.type() === 'error') seen.errors.push(`console error: ${m.text()}`);
  });
  page.on('pageerror', (e) => seen.errors.push(`page error: ${(e as Error).message}`));
  page.on('requestfailed', (r) => seen.errors.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    void r.text().then(
      (body) => seen.bodies.push({ url: r.url(), body }),
      () => undefined,
    );
  });
}

async function text(page: Page, selector: string): Promise<string> {
  return page.$eval(selector, (e) => (e as unknown as { innerText: string }).innerText).catch(() => '');
}

/** Waits until the element's text matches; returns the seconds it took, or null. */
async function waitText(page: Page, selector: string, re: RegExp, timeoutMs: number): Promise<number | null> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    if (re.test(await text(page, selector))) return (Date.now() - t0) / 1000;
    await sleep(200);
  }
  return null;
}

async function go(page: Page, url: string, path: string, ready: string): Promise<boolean> {
  const target = `${url}#/${path}`;
  // the same URL again is no navigation for the browser: load the page afresh
  if (page.url() === target) await page.reload();
  else await page.goto(target);
  // each ubus call is a QuickJS CGI run under TCG, next to the agent: allow a minute
  return page
    .waitForSelector(ready, { timeout: 60000 })
    .then(() => true)
    .catch(() => false);
}

/**
 * Sets a checkbox through the element itself: a click at its coordinates hit another
 * widget when the page shifted under a loaded host (the switch-off then applied some
 * other change and PDMv2 stayed on). Returns the state the page shows afterwards.
 */
async function setCheckbox(page: Page, selector: string, on: boolean): Promise<boolean> {
  return page.$eval(selector, (e, want) => {
    const box = e as unknown as { checked: boolean; click(): void };
    if (box.checked !== want) box.click();
    return box.checked;
  }, on);
}

/** The checkbox the page shows now, and how many pages the stand-in has rendered (a re-render replaces it). */
async function checkboxNow(page: Page, selector: string): Promise<string> {
  return page.evaluate((sel) => {
    interface Doc {
      querySelectorAll(s: string): ArrayLike<{ checked: boolean }>;
      body: { getAttribute(a: string): string | null };
    }
    const doc = (globalThis as unknown as { document: Doc }).document;
    const all = doc.querySelectorAll(sel);
    const box = all[0];
    return `${all.length} such box(es), ${box ? (box.checked ? 'on' : 'off') : 'none'}; pages rendered ${doc.body.getAttribute('data-shows')}, view ${doc.body.getAttribute('data-view-state')}`;
  }, selector);
}

async function login(page: Page, url: string, user: string, password: string): Promise<boolean> {
  await page.goto(url);
  await page.waitForSelector('#standin-login', { timeout: 20000 });
  await page.$eval('#standin-user', (e) => ((e as unknown as { value: string }).value = ''));
  await page.type('#standin-user', user);
  await page.type('#standin-pass', password);
  await page.click('#standin-login-submit');
  return page
    .waitForSelector('#menu a', { timeout: 20000 })
    .then(() => true)
    .catch(() => false);
}

// ---- JSON-RPC as a script would send it (the ACL checks) ---------------------------------

const ANON = '00000000000000000000000000000000';

async function ubus(url: string, body: unknown): Promise<Record<string, unknown>> {
  const r = await fetch(`${url}cgi-bin/ubus`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return (await r.json()) as Record<string, unknown>;
}
const call = (sid: string, object: string, method: string, args: Record<string, unknown> = {}): unknown => ({ jsonrpc: '2.0', id: 1, method: 'call', params: [sid, object, method, args] });
const errorCode = (r: Record<string, unknown>): number | null => ((r.error as { code?: number } | undefined)?.code ?? null);
const ubusStatus = (r: Record<string, unknown>): number | null => (Array.isArray(r.result) ? (r.result[0] as number) : null);

async function aclChecks(url: string, rootPw: string, viewerPw: string): Promise<void> {
  const denied = async (name: string, req: unknown): Promise<void> => {
    const r = await ubus(url, req);
    check(name, errorCode(r) === -32002, JSON.stringify(r));
  };
  await denied('unauthenticated: pdmv2 status refused (-32002 Access denied)', call(ANON, 'pdmv2', 'status'));
  await denied('unauthenticated: uci get pdmv2 refused', call(ANON, 'uci', 'get', { config: 'pdmv2' }));
  await denied('made-up session id: refused', call('0123456789abcdef0123456789abcdef', 'pdmv2', 'status'));
  const bad = await ubus(url, call(ANON, 'session', 'login', { username: 'root', password: 'wrong' }));
  check('login with a wrong password: ubus PERMISSION_DENIED (6), no session', ubusStatus(bad) === 6, JSON.stringify(bad));
  const parse = await ubus(url, '{"jsonrpc":"2.0",');
  check('malformed JSON: -32700 Parse error', errorCode(parse) === -32700, JSON.stringify(parse));
  const login = async (user: string, pw: string): Promise<string> => {
    const r = await ubus(url, call(ANON, 'session', 'login', { username: user, password: pw }));
    return ((r.result as [number, { ubus_rpc_session?: string }] | undefined)?.[1]?.ubus_rpc_session as string) ?? '';
  };
  const viewer = await login('viewer', viewerPw);
  check('read-only user logs in', viewer.length === 32);
  const st = await ubus(url, call(viewer, 'pdmv2', 'status'));
  check('read-only session: pdmv2 status allowed', ubusStatus(st) === 0, `status ${ubusStatus(st)}`);
  const fl = await ubus(url, call(viewer, 'pdmv2', 'flows'));
  check('read-only session: pdmv2 flows allowed', ubusStatus(fl) === 0, `status ${ubusStatus(fl)}`);
  const ug = await ubus(url, call(viewer, 'uci', 'get', { config: 'pdmv2' }));
  check('read-only session: uci get pdmv2 allowed', ubusStatus(ug) === 0, `status ${ubusStatus(ug)}`);
  await denied('read-only session: pdmv2 enroll refused', call(viewer, 'pdmv2', 'enroll'));
  await denied('read-only session: uci set pdmv2 refused', call(viewer, 'uci', 'set', { config: 'pdmv2', section: 'main', values: { enabled: '0' } }));
  await denied('read-only session: uci apply refused', call(viewer, 'uci', 'apply', {}));
  const root = await login('root', rootPw);
  await denied('full session: pdmv2 enable/disable not granted by the ACL (the form goes through UCI)', call(root, 'pdmv2', 'disable'));
  const other = await ubus(url, call(root, 'uci', 'get', { config: 'rpcd' }));
  check('full session: uci get of another config (rpcd, the passwords) refused by the uci ACL', ubusStatus(other) === 6, JSON.stringify(other).slice(0, 200));
  for (const sid of [viewer, root]) await ubus(url, call(sid, 'session', 'destroy'));
  await denied('destroyed session: refused', call(viewer, 'pdmv2', 'status'));
}

// ---- captures on the host ---------------------------------------------------------------------

/** The response times tshark pairs to the echo replies of a capture, ms. */
async function echoTimes(pcap: string): Promise<number[]> {
  const r = await run('tshark', ['-r', pcap, '-Y', 'icmpv6.type == 129', '-T', 'fields', '-e', 'icmpv6.resptime'], 60000);
  return r.stdout
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((v) => Number.isFinite(v) && v > 0);
}

async function opensWithKeys(pcap: string, state: string, pcKey: string): Promise<{ ok: boolean; detail: string }> {
  const r = await run(process.execPath, [ANALYZER_JS, 'decode', pcap, '--json', '--keys', join(state, 'rtr-keys.pdmk'), '--analyzer-key', join(state, 'analyzer.key'), '--primary-key', pcKey], 120000);
  if (r.code !== 0) return { ok: false, detail: r.stderr.trim() };
  const recs = JSON.parse(r.stdout) as { src: string; decryption?: string }[];
  const fromLan = recs.filter((x) => x.src.startsWith('2001:db8:1:') && x.decryption !== undefined);
  const opened = fromLan.filter((x) => x.decryption === 'ok');
  return { ok: fromLan.length > 0 && opened.length === fromLan.length, detail: `${opened.length} of ${fromLan.length} encrypted options from the LAN opened` };
}

// ---- the test -----------------------------------------------------------------------------------

async function serve(o: Options): Promise<never> {
  rmSync(o.state, { recursive: true, force: true });
  mkdirSync(o.state, { recursive: true });
  mkdirSync(o.shots, { recursive: true });
  mkdirSync(o.sync, { recursive: true });
  for (const f of readdirSync(o.sync)) rmSync(join(o.sync, f), { force: true });
  const pc = new Primary('pc', o.state, 10);
  const ps = new Primary('ps', o.state, 10);
  const guest = new Guest(o.sync, 120000);
  let browser: Browser | null = null;
  const seen: Seen = { errors: [], bodies: [] };
  const end = async (): Promise<never> => {
    await guest.ask('done', 5000).catch(() => undefined);
    await browser?.close().catch(() => undefined);
    await Promise.all([pc.stop('SIGTERM'), ps.stop('SIGTERM')]);
    return finish();
  };
  process.once('SIGTERM', () => void end());
  process.once('SIGINT', () => void end());

  const rootPw = randomBytes(12).toString('hex');
  const viewerPw = randomBytes(12).toString('hex');
  let pairing = '';
  try {
    await Promise.all([pc.start(), ps.start()]);
    const paired = await pairPrimaries(pc, ps, [CLIENT_P], SERVER_P);
    pairing = paired.pairing;
    check('primaries up and paired', paired.ok, paired.detail);
    const env = {
      PC_URL: `http://10.0.2.2:${pc.port}`,
      PS_URL: `http://10.0.2.2:${ps.port}`,
      PC_KEY: pc.pk,
      PS_KEY: ps.pk,
      CLIENT_P,
      SERVER_P,
      SERVER_TOKEN: await token(ps, 'server', SERVER_P, '30m'),
      ROOT_PASSWORD: rootPw,
      VIEWER_PASSWORD: viewerPw,
    };
    const ex = await exportRouterKeys(pc, pairing, CLIENT_P, o.state);
    check('analyzer key made, the router prefix keys exported to it', ex.ok, ex.detail);
    writeAtomic(join(o.sync, 'env'), Object.entries(env).map(([k, v]) => `${k}=${v}\n`).join(''));
  } catch (e) {
    check('primaries set up', false, (e as Error).message);
    return end();
  }

  // the guest answers its first request once the agent, the module and the pages are up
  const fp = (await guest.must('guest set up: pages served, agent pending', 'fingerprint', o.timeout * 1000)).trim();
  const shot = async (page: Page, name: string): Promise<void> => {
    await page.screenshot({ path: join(o.shots, `${name}.png`), fullPage: true });
  };

  try {
    browser = await launchBrowser();
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 900 });
    watch(page, seen);

    // ---- login, Services -> PDMv2: pending with the fingerprint
    check('log in as root', await login(page, o.url, 'root', rootPw));
    const menu = await page.$$eval('#menu a', (as) => as.map((a) => a.textContent ?? ''));
    check('the menu has Services → PDMv2 (menu.d, its ACL and uci depends met)', menu.includes('Services → PDMv2'), menu.join(', '));
    await page.click('#menu a.menu-top');
    await page.waitForSelector('#pdmv2-state', { timeout: 20000 });
    const pendingText = await text(page, '#pdmv2-state');
    check('status: pending, showing the fingerprint `pdmv2d fingerprint` prints', /Waiting for approval/.test(pendingText) && (await text(page, '#pdmv2-fingerprint')) === fp, `${pendingText} / ${fp}`);
    await shot(page, '01-status-pending');

    // ---- approve on the primary: granted within one poll
    const approved = await pc.cli('approve', fp);
    check('approved on the Primary Client by that fingerprint', /^approved /.test(approved.trim()), approved.trim());
    await guest.must('guest: the agent got the grant (its status file says granted)', 'wait-granted 30');
    const granted = await waitText(page, '#pdmv2-state', /^Granted: generation \d+/, 20000);
    // the page polls every 5 s; one call through the stand-in takes up to about 2 s under TCG
    check('status: granted within one poll of the page (5 s + 2 s) after the agent got it', granted !== null && granted <= 7, `${granted ?? '-'} s`);
    check('status: module loaded, mode encrypted', /loaded, mode encrypted/.test(await text(page, '#pdmv2-kmod')), await text(page, '#pdmv2-kmod'));
    await shot(page, '02-status-granted');

    // ---- traffic; the flows page against the capture
    const pinged = await guest.must('guest: 8 echo requests lan -> wan captured on rtr wan0', 'ping flows1 8');
    const kernelLine = pinged.split('\n').find((l) => ICMP_FLOW_RE.test(l)) ?? '';
    check('the module lists the LAN host\'s ICMPv6 flow with its round-trip time', /\d+ \d+ \d+ \d+$/.test(kernelLine), kernelLine);
    const flowKey = kernelLine.split(' ').slice(0, 5).join(' ');
    check('open the flows page', await go(page, o.url, 'admin/services/pdmv2/flows', '#pdmv2-flows-table'));
    const sel = `tr[data-flow="${flowKey}"] .pdmv2-rtt`;
    await page.waitForSelector(sel, { timeout: 15000 }).catch(() => undefined);
    const rttLastUs = Number(await page.$eval(sel, (e) => e.getAttribute('data-last-us')).catch(() => 'NaN'));
    const rttShown = await text(page, sel);
    const times = await echoTimes(join(o.captures, 'flows1.pcap'));
    const capMs = times[times.length - 1] ?? NaN;
    const pageMs = rttLastUs / 1000;
    // the module stamps at its netfilter hooks, tcpdump at the device; between them, under TCG on a
    // loaded host, a packet can wait a millisecond or two: the same round trip within 2 ms + 30 %
    check(
      'flows page: the LAN host\'s flow with the last round-trip time the capture shows (tshark icmpv6.resptime), within 2 ms + 30 %',
      Number.isFinite(pageMs) && Number.isFinite(capMs) && Math.abs(pageMs - capMs) <= 2 + 0.3 * capMs,
      `page ${pageMs.toFixed(3)} ms ("${rttShown}"), capture ${Number.isFinite(capMs) ? capMs.toFixed(3) : '-'} ms (${times.length} replies)`,
    );
    const sdShown = await text(page, `tr[data-flow="${flowKey}"] .pdmv2-sd`);
    check('flows page: the server delay the peer reports is shown', /\d+\.\d+ ms/.test(sdShown), sdShown);
    await shot(page, '03-flows');

    // ---- switch off, save and apply
    const apply = async (): Promise<boolean> => {
      await page.click('#standin-save-apply');
      return page
        .waitForSelector('#standin-applied', { timeout: 30000 })
        .then(() => true)
        .catch(() => false);
    };
    check('open the settings page', await go(page, o.url, 'admin/services/pdmv2/settings', '#cbi-pdmv2'));
    check('settings: the Enabled switch shows off before saving', (await setCheckbox(page, 'input[id="cbid.pdmv2.main.enabled"]', false)) === false);
    const offNow = await checkboxNow(page, 'input[id="cbid.pdmv2.main.enabled"]');
    check('settings: still off on the page when Save & Apply is clicked', offNow.startsWith('1 such box(es), off'), offNow);
    check('switch off: Save & Apply', await apply());
    const offUci = await guest.must('guest: /etc/config/pdmv2 after switching off', 'uci');
    check("UCI says enabled '0' after Save & Apply", /option enabled '0'/.test(offUci), offUci.split('\n').find((l) => l.includes('enabled')) ?? '(no enabled line)');
    await guest.must('the module\'s mode is off within 10 s (init script reload -> SIGHUP -> wipe)', 'wait-mode off 10');
    await guest.must('guest: echo requests after switching off', 'ping off1 4');
    await guest.must('the WAN capture has no PDM option from the LAN', 'no-option off1');
    check('status page: PDMv2 off', (await go(page, o.url, 'admin/services/pdmv2/status', '#pdmv2-enabled')) && (await waitText(page, '#pdmv2-enabled', /^off$/, 10000)) !== null);
    await shot(page, '04-status-off');

    // ---- switch on again
    check('open the settings page', await go(page, o.url, 'admin/services/pdmv2/settings', '#cbi-pdmv2'));
    check('settings: the Enabled switch shows on before saving', (await setCheckbox(page, 'input[id="cbid.pdmv2.main.enabled"]', true)) === true);
    const onNow = await checkboxNow(page, 'input[id="cbid.pdmv2.main.enabled"]');
    check('settings: still on on the page when Save & Apply is clicked', onNow.startsWith('1 such box(es), on'), onNow);
    check('switch on: Save & Apply', await apply());
    await guest.must('the module\'s mode is encrypted again within 90 s (re-enrolled)', 'wait-mode encrypted 90');
    await guest.must('guest: echo requests after switching on', 'ping on1 4');
    await guest.must('encrypted options from the LAN on the WAN capture again', 'has-option on1');
    const opened = await opensWithKeys(join(o.captures, 'on1.pcap'), o.state, pc.pk);
    check('they open with the analyzer keys the Primary Client exported', opened.ok, opened.detail);

    // ---- a bad primary key: validation error, UCI unchanged
    const before = await guest.must('guest: /etc/config/pdmv2 before the bad edit', 'uci');
    check('open the settings page', await go(page, o.url, 'admin/services/pdmv2/settings', '#cbi-pdmv2'));
    const keySel = 'input[id="cbid.pdmv2.main.primary_key"]';
    await page.$eval(keySel, (e) => ((e as unknown as { value: string }).value = ''));
    await page.type(keySel, 'not-a-key');
    await page.click('#standin-save-apply');
    const err = await waitText(page, '[id="cbid.pdmv2.main.primary_key.error"]', /64 hexadecimal digits/, 10000);
    check('a bad primary key shows the validation error', err !== null, await text(page, '[id="cbid.pdmv2.main.primary_key.error"]'));
    await sleep(1000);
    const after = await guest.must('guest: /etc/config/pdmv2 after', 'uci');
    check('UCI unchanged', after === before, after === before ? 'identical' : `before:\n${before}\nafter:\n${after}`);
    await shot(page, '05-settings-invalid');
    const prefixSel = '[id="cbid.pdmv2.main.prefix"] input';
    await go(page, o.url, 'admin/services/pdmv2/settings', '#cbi-pdmv2');
    await page.$eval(prefixSel, (e) => ((e as unknown as { value: string }).value = '2001:db8:1::1/64'));
    await page.click('#standin-save-apply');
    check('a prefix with host bits shows the validation error', (await waitText(page, '[id="cbid.pdmv2.main.prefix.error"]', /host bits/, 10000)) !== null);
    check('UCI still unchanged', (await guest.must('guest: /etc/config/pdmv2 after', 'uci')) === before);

    // ---- ACL: unauthenticated and read-only callers
    await aclChecks(o.url, rootPw, viewerPw);
    await page.click('#logout');
    await page.waitForSelector('#standin-login', { timeout: 10000 });
    check('read-only user logs in (browser)', await login(page, o.url, 'viewer', viewerPw));
    check('read-only user: the status page', await go(page, o.url, 'admin/services/pdmv2/status', '#pdmv2-enroll'));
    await page.click('#pdmv2-enroll');
    check('read-only user: Enroll now is refused and the page says so', (await waitText(page, '#notifications', /Access denied/, 30000)) !== null, await text(page, '#notifications'));
    await shot(page, '06-viewer-refused');
    await page.click('#logout');
    await page.waitForSelector('#standin-login', { timeout: 10000 });
    check('log in as root again', await login(page, o.url, 'root', rootPw));

    // ---- broken states: each page says what is wrong, with no script error
    await guest.must('guest: /etc/config/pdmv2 broken by hand', 'break-uci');
    check('broken UCI: the settings page says the file cannot be read', (await go(page, o.url, 'admin/services/pdmv2/settings', '#pdmv2-settings-error')) && /cannot be read/.test(await text(page, '#pdmv2-settings-error')));
    await shot(page, '07-settings-broken-uci');
    check('broken UCI: the status page still shows the status', await go(page, o.url, 'admin/services/pdmv2/status', '#pdmv2-state'));
    await guest.must('guest: /etc/config/pdmv2 restored', 'restore-uci');

    await guest.must('guest: agent stopped (/etc/init.d/pdmv2 stop)', 'agent-stop');
    check('agent stopped: the status page says the agent is not running', (await go(page, o.url, 'admin/services/pdmv2/status', '#pdmv2-problems')) && /not running/.test(await text(page, '#pdmv2-problems')), await text(page, '#pdmv2-problems'));
    await shot(page, '08-status-agent-stopped');

    await guest.must('guest: module unloaded', 'rmmod');
    check('module not loaded: the status page says so', (await go(page, o.url, 'admin/services/pdmv2/status', '#pdmv2-kmod')) && /not loaded/.test(await text(page, '#pdmv2-kmod')));
    await shot(page, '09-status-no-module');
    check('module not loaded: the flows page says so', (await go(page, o.url, 'admin/services/pdmv2/flows', '#pdmv2-flows-error')) && /not loaded/.test(await text(page, '#pdmv2-flows-error')));
    await shot(page, '10-flows-no-module');
    await guest.must('guest: module loaded again', 'insmod');
    await guest.must('guest: agent started again', 'agent-start');

    await guest.must('guest: the primary cut off from rtr', 'block-primary');
    check('status page with Enroll now', await go(page, o.url, 'admin/services/pdmv2/status', '#pdmv2-enroll'));
    await page.click('#pdmv2-enroll');
    const unreachable = await waitText(page, '#pdmv2-problems', /UNREACHABLE/, 30000);
    check('primary unreachable: after Enroll now the status page shows the agent\'s error', unreachable !== null, await text(page, '#pdmv2-problems'));
    await shot(page, '11-status-primary-unreachable');
    await guest.must('guest: the primary reachable again', 'unblock-primary');

    // ---- logout
    await page.click('#logout');
    check('logout: back at the login form', await page.waitForSelector('#standin-login', { timeout: 10000 }).then(() => true, () => false));
    await shot(page, '12-logged-out');

    // ---- what the browser received
    const guestSecrets = (await guest.must('guest: the lab\'s secrets (device key, grant secrets)', 'secrets')).split('\n').filter((l) => /^[0-9a-f]{32,}$/.test(l));
    const hostSecrets = ['pc', 'ps']
      .map((p) => join(o.state, p, 'primary.key'))
      .concat(join(o.state, 'analyzer.key'))
      .filter(existsSync)
      .flatMap((f) => readFileSync(f, 'utf8').match(/[0-9a-f]{64}/g) ?? []);
    const secrets = [...guestSecrets, ...hostSecrets, rootPw, viewerPw];
    await sleep(500);
    const leaks = seen.bodies.filter((b) => secrets.some((s) => b.body.toLowerCase().includes(s)));
    check(
      'no response the browser received contains a secret of the lab',
      guestSecrets.length >= 2 && leaks.length === 0,
      `${secrets.length} secrets (${guestSecrets.length} from the guest) searched in ${seen.bodies.length} responses; ${leaks.map((l) => l.url).join(', ') || 'none found'}`,
    );
    check('no page error, console error or failed request', seen.errors.length === 0, seen.errors.slice(0, 5).join(' | ') || 'none');
    const status = join(o.shots, '02-status-granted.png');
    if (existsSync(status)) copyFileSync(status, join(o.shots, 'status.png'));
    info(`screenshots: ${readdirSync(o.shots).sort().join(' ')}`);
    if (o.keep) {
      info(`the lab stays up: ${o.url} (root / ${rootPw}, viewer / ${viewerPw}); Ctrl-C ends it`);
      console.error(`lab: the LuCI pages stay up at ${o.url}: log in as root / ${rootPw} (or viewer / ${viewerPw}); Ctrl-C ends the lab`);
      await new Promise(() => undefined);
    }
  } catch (e) {
    check('browser test', false, (e as Error).stack ?? String(e));
    const pages = await browser?.pages().catch(() => []);
    if (pages?.length) await pages[pages.length - 1]!.screenshot({ path: join(o.shots, 'failure.png'), fullPage: true }).catch(() => undefined);
  }
  return end();
}

async function main(argv: string[]): Promise<never> {
  const [cmd, ...rest] = argv;
  const keep = takeFlag(rest, '--keep');
  const [sync, state, url, shots] = ['--sync', '--state', '--url', '--shots'].map((n) => takeOption(rest, n));
  const timeout = Number(takeOption(rest, '--timeout') ?? 1200);
  if (cmd !== 'serve' || !sync || !state || !url || !shots || rest.length) {
    throw new Error('usage: luci-host serve --sync DIR --state DIR --url URL --shots DIR [--timeout S] [--keep]');
  }
  // the guest copies its captures into the share as it makes them
  return serve({ sync, state, url: url.endsWith('/') ? url : `${url}/`, captures: sync, shots, timeout, keep });
}

main(process.argv.slice(2)).catch((e: unknown) => {
  check('luci-host', false, (e as Error).message);
  finish();
});

