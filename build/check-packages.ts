/// <reference types="node" />
// Checks the OpenWrt package definitions (firmware/Makefile, kmod/openwrt/Makefile)
// against what their recipes produce: runs Build/Prepare, Build/Compile and
// Package/…/install of pdmv2d with OpenWrt's install commands into a temp
// root (no buildroot needed: the recipes use only $(CP), $(INSTALL_*),
// $(HOST_NODE) and the repository), then checks every installed file, its
// mode, the conffiles, the maintainer scripts and the init script's
// validation against the options the agent reads. For kmod-pdmv2 it checks
// that the files Build/Prepare copies build the object Kbuild names.
//
//   node .build/node/build/check-packages.js      ("N passed, M failed")
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { check as report, finish } from '../test/lab/checks.js';
import { configFromText } from '../firmware/src/agent-config.js';

/** One check; its detail shown only when it fails. */
const check = (name: string, ok: boolean, detail = ''): void => report(name, ok, ok ? '' : detail);

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const FW = join(REPO, 'firmware');
const KMOD = join(REPO, 'kmod');
const QJS = join(REPO, 'build', 'qjs');

/** Make variables assigned with := or ?= (one line, continuation lines joined). */
function makeVars(text: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of text.replace(/\\\n\s*/g, ' ').split('\n')) {
    const m = /^([A-Z_0-9]+)\s*(?::=|\?=)\s*(.*)$/.exec(line);
    if (m) vars.set(m[1]!, m[2]!.trim());
  }
  return vars;
}

/** The body of `define NAME` … `endef`, or null. */
function define(text: string, name: string): string | null {
  const start = text.indexOf(`define ${name}\n`);
  if (start < 0) return null;
  const end = text.indexOf('\nendef', start);
  return text.slice(start + `define ${name}\n`.length, end);
}

/** A recipe line with OpenWrt's commands for a plain shell (include/package-defaults.mk, rules.mk). */
function shellLine(line: string, subst: Record<string, string>): string {
  let s = line.trim();
  for (const [k, v] of Object.entries(subst)) s = s.split(`$(${k})`).join(v);
  return s.replace(/\$\$/g, '$');
}

function sh(cmd: string, cwd: string, env: NodeJS.ProcessEnv = {}): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('sh', ['-c', cmd], { cwd, env: { ...process.env, ...env }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    return { ok: false, out: `${x.stdout ?? ''}${x.stderr ?? x.message}` };
  }
}

function walk(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

const mode = (p: string): string => (statSync(p).mode & 0o7777).toString(8).padStart(4, '0');

function checkAgentPackage(): void {
  const mk = readFileSync(join(FW, 'Makefile'), 'utf8');
  const v = makeVars(mk);
  check('pdmv2d: PKG_NAME, PKG_VERSION, PKG_RELEASE, PKG_LICENSE set', ['PKG_NAME', 'PKG_VERSION', 'PKG_RELEASE', 'PKG_LICENSE'].every((k) => (v.get(k) ?? '') !== ''));
  check('pdmv2d: PKG_MAINTAINER is "Name <email>"', /^[^<>]+ <[^@\s<>]+@[^@\s<>]+>$/.test(v.get('PKG_MAINTAINER') ?? ''), v.get('PKG_MAINTAINER') ?? '');
  const root = REPO.replace(/\/$/, '');
  const fileDeps = (v.get('PKG_FILE_DEPENDS') ?? '').split(/\s+/).filter(Boolean).map((p) => p.replace('$(CURDIR)', FW).replace('$(PDMV2_ROOT)', root));
  const missingDeps = fileDeps.filter((p) => !existsSync(p));
  check('pdmv2d: PKG_FILE_DEPENDS names the sources it is built from, and they exist', fileDeps.length > 0 && missingDeps.length === 0 && fileDeps.includes(join(FW, 'src')) && fileDeps.some((p) => p.endsWith('/core/src')), missingDeps.join(' '));
  const pkg = (define(mk, 'Package/pdmv2d') ?? '').replace(/\\\n\s*/g, ' ');
  const deps = /DEPENDS:=(.*)/.exec(pkg)?.[1] ?? '';
  const needs = ['+quickjs', '+nftables', '+kmod-pdmv2', '+uclient-fetch', '+rpcd', '+PDMV2D_HTTPS:libustream-mbedtls', '+PDMV2D_HTTPS:ca-bundle'];
  check('pdmv2d: DEPENDS has quickjs, nftables, kmod-pdmv2, rpcd, uclient-fetch and TLS (option PDMV2D_HTTPS)', needs.every((d) => deps.split(/\s+/).includes(d)), deps);
  check('pdmv2d: the option PDMV2D_HTTPS is defined (Package/pdmv2d/config)', /config PDMV2D_HTTPS\n\s+bool/.test(define(mk, 'Package/pdmv2d/config') ?? ''));

  // ---- build and install as the buildroot would
  const tmp = mkdtempSync(join(tmpdir(), 'pdmv2-pkg-'));
  try {
    const build = join(tmp, 'build');
    const dest = join(tmp, 'root');
    const subst = {
      PKG_BUILD_DIR: build,
      '1': dest,
      CP: 'cp -fpR',
      INSTALL_DIR: 'install -d -m0755',
      INSTALL_BIN: 'install -m0755',
      INSTALL_DATA: 'install -m0644',
      INSTALL_CONF: 'install -m0600',
      HOST_NODE: process.execPath,
      PDMV2_ROOT: root,
    };
    const failures: string[] = [];
    for (const section of ['Build/Prepare', 'Build/Compile', 'Package/pdmv2d/install']) {
      for (const line of (define(mk, section) ?? '').split('\n').filter((l) => l.trim())) {
        const r = sh(shellLine(line, subst), FW);
        if (!r.ok) failures.push(`${section}: ${line.trim()}: ${r.out.trim()}`);
      }
    }
    check('pdmv2d: Build/Prepare, Build/Compile and the install recipe run, every file they install exists', failures.length === 0, failures.join('\n'));
    if (failures.length) return;
    const installed = walk(dest).map((p) => `/${relative(dest, p)}`).sort();
    const shipped = walk(join(FW, 'files')).map((p) => `/${relative(join(FW, 'files'), p)}`).sort();
    const forgotten = shipped.filter((f) => !installed.includes(f));
    check('pdmv2d: every file under firmware/files is installed at its path', forgotten.length === 0, `not installed: ${forgotten.join(' ')}`);
    const same = shipped.filter((f) => installed.includes(f) && readFileSync(join(dest, f), 'utf8') === readFileSync(join(FW, 'files', f), 'utf8'));
    check('pdmv2d: installed files are the repository\'s', same.length === shipped.length);
    const want: Record<string, string> = {
      '/usr/bin/pdmv2d': '0755',
      '/etc/init.d/pdmv2': '0755',
      '/usr/libexec/rpcd/pdmv2': '0755',
      '/etc/config/pdmv2': '0600',
      '/etc/hotplug.d/ntp/60-pdmv2': '0644',
      '/usr/share/pdmv2/pdmv2d.mjs': '0644',
    };
    const wrong = Object.entries(want).filter(([f, m]) => !existsSync(join(dest, f)) || mode(join(dest, f)) !== m);
    check('pdmv2d: modes (init script, wrapper, rpcd plugin 0755; UCI config 0600; hotplug, bundle 0644)', wrong.length === 0, wrong.map(([f, m]) => `${f}: ${existsSync(join(dest, f)) ? mode(join(dest, f)) : 'missing'}, want ${m}`).join('; '));
    check('pdmv2d: exactly these files are installed', installed.join() === Object.keys(want).sort().join(), installed.join(' '));

    const shells = ['/usr/bin/pdmv2d', '/etc/init.d/pdmv2', '/etc/hotplug.d/ntp/60-pdmv2'];
    const bad = shells.filter((f) => !sh(`sh -n '${join(dest, f)}'`, tmp).ok);
    check('pdmv2d: every shell file parses (sh -n)', bad.length === 0, bad.join(' '));
    // the rpcd plugin is an awk program (one exec per call): rpcd's `list` must answer JSON
    const plugin = join(dest, '/usr/libexec/rpcd/pdmv2');
    const listed = sh(`'${plugin}' list </dev/null`, tmp);
    let methods: string[] = [];
    try {
      methods = listed.ok ? Object.keys(JSON.parse(listed.out) as Record<string, unknown>) : [];
    } catch {
      /* not JSON: reported below */
    }
    check('pdmv2d: the rpcd plugin runs and lists its methods as JSON (rpcd\'s `list`)', ['status', 'flows', 'enroll'].every((m) => methods.includes(m)), listed.out.slice(0, 200));
    check('pdmv2d: the init script runs under rc.common with procd', readFileSync(join(dest, '/etc/init.d/pdmv2'), 'utf8').startsWith('#!/bin/sh /etc/rc.common\n') && /^USE_PROCD=1$/m.test(readFileSync(join(dest, '/etc/init.d/pdmv2'), 'utf8')));
    const scripts = ['postinst', 'prerm'].map((n) => [n, define(mk, `Package/pdmv2d/${n}`)] as const);
    const badScripts = scripts.filter(([, body]) => body === null || !sh(`sh -n <<'EOF'\n${body.replace(/\$\$/g, '$')}\nEOF`, tmp).ok);
    check('pdmv2d: postinst and prerm exist and parse', badScripts.length === 0, badScripts.map(([n]) => n).join(' '));

    // the installed wrapper and bundle on QuickJS, with the memory limit the init script passes
    const wrapped = sh(`'${join(dest, 'usr/bin/pdmv2d')}' help`, tmp, { PDMV2_QJS: QJS, PDMV2_BUNDLE: join(dest, 'usr/share/pdmv2/pdmv2d.mjs'), PDMV2_MEMORY_LIMIT: '4M' });
    check('pdmv2d: the installed wrapper runs the installed bundle on qjs --memory-limit 4M', wrapped.ok && /^pdmv2d \d+\.\d+\.\d+: PDMv2 agent/.test(wrapped.out), wrapped.out.slice(0, 300));
    const version = /AGENT_VERSION = '([^']+)'/.exec(readFileSync(join(FW, 'src', 'agent.ts'), 'utf8'))?.[1];
    check(`pdmv2d: PKG_VERSION ${v.get('PKG_VERSION')} is the agent's version`, version === v.get('PKG_VERSION'), `agent ${version}`);

    // conffiles: what a backup keeps
    const conffiles = (define(mk, 'Package/pdmv2d/conffiles') ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
    check('pdmv2d: conffiles are exactly the UCI config and the device key', conffiles.join() === '/etc/config/pdmv2,/etc/pdmv2/device.key', conffiles.join(' '));
    const covers = (f: string): boolean => conffiles.some((c) => (c.endsWith('/') ? f.startsWith(c) : f === c));
    check('pdmv2d: no conffile covers the grant (/etc/pdmv2/grant.json) or the run-time state', !covers('/etc/pdmv2/grant.json') && !covers('/var/run/pdmv2/state.json'));
    // the device key is made by the agent at its default place (state_dir /etc/pdmv2): make one under the temp root
    const cfg = join(tmp, 'pdmv2.uci');
    writeFileSync(cfg, `config pdmv2 'main'\n\toption state_dir '${dest}/etc/pdmv2'\n\toption run_dir '${tmp}/run'\n`);
    const fp = sh(`'${join(dest, 'usr/bin/pdmv2d')}' --config '${cfg}' fingerprint`, tmp, { PDMV2_QJS: QJS, PDMV2_BUNDLE: join(dest, 'usr/share/pdmv2/pdmv2d.mjs') });
    const key = join(dest, 'etc/pdmv2/device.key');
    check('pdmv2d: the conffile /etc/pdmv2/device.key is what the agent creates (0600) in its default state_dir', fp.ok && existsSync(key) && mode(key) === '0600' && configFromText("config pdmv2 'main'\n", 'default').stateDir === '/etc/pdmv2', fp.out.slice(0, 200));

    // the init script validates every option the agent reads, with the same defaults where it states one
    const init = readFileSync(join(dest, 'etc/init.d/pdmv2'), 'utf8');
    const specs = new Map([...init.matchAll(/^\s*'([a-z_]+):([^']*)'/gm)].map((m) => [m[1]!, m[2]!] as const));
    const agentOptions = [...new Set([...readFileSync(join(FW, 'src', 'agent-config.ts'), 'utf8').matchAll(/\b[ol]\.([a-z_]+)/g)].map((m) => m[1]!))];
    const unvalidated = agentOptions.filter((o) => !specs.has(o));
    check('pdmv2d: the init script validates every option the agent reads (uci_load_validate)', unvalidated.length === 0 && /procd_add_validation validate_pdmv2_section/.test(init), `not validated: ${unvalidated.join(' ')}`);
    const respawn = /procd_set_param respawn "\$\{respawn_threshold:-(\d+)\}" "\$\{respawn_timeout:-(\d+)\}" "\$\{respawn_retry:-(\d+)\}"/.exec(init);
    check('pdmv2d: procd respawn retries a finite number of times', respawn !== null && Number(respawn[3]) > 0, respawn?.[0] ?? 'no respawn line');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function checkKmodPackage(): void {
  const mk = readFileSync(join(KMOD, 'openwrt', 'Makefile'), 'utf8');
  const v = makeVars(mk);
  check('kmod-pdmv2: PKG_MAINTAINER is "Name <email>"', /^[^<>]+ <[^@\s<>]+@[^@\s<>]+>$/.test(v.get('PKG_MAINTAINER') ?? ''), v.get('PKG_MAINTAINER') ?? '');
  check('kmod-pdmv2: PKG_FILE_DEPENDS names Kbuild and the sources', /\$\(PDMV2_KMOD_SRC\)\/Kbuild/.test(v.get('PKG_FILE_DEPENDS') ?? '') && /\*\.c/.test(v.get('PKG_FILE_DEPENDS') ?? ''));
  const kbuild = readFileSync(join(KMOD, 'Kbuild'), 'utf8').replace(/\\\n\s*/g, ' ');
  const obj = /obj-m \+= (\S+)\.o/.exec(kbuild)?.[1];
  const objs = (/^pdmv2-y := (.*)$/m.exec(kbuild)?.[1] ?? '').split(/\s+/).filter(Boolean).map((o) => o.replace(/\.o$/, ''));
  const pkg = define(mk, 'KernelPackage/pdmv2') ?? '';
  check('kmod-pdmv2: FILES and AutoProbe name the module Kbuild builds', obj !== undefined && pkg.includes(`FILES:=$(PKG_BUILD_DIR)/${obj}.ko`) && pkg.includes(`AutoProbe,${obj})`), `obj-m ${obj}`);
  const tmp = mkdtempSync(join(tmpdir(), 'pdmv2-kpkg-'));
  try {
    const failures: string[] = [];
    // Build/Prepare's copy spans two lines (a continuation): run it whole
    const prepare = (define(mk, 'Build/Prepare') ?? '').replace(/\\\n\s*/g, ' ');
    for (const line of prepare.split('\n').filter((l) => l.trim())) {
      const r = sh(shellLine(line, { PKG_BUILD_DIR: tmp, CP: 'cp -fpR', PDMV2_KMOD_SRC: KMOD }), KMOD);
      if (!r.ok) failures.push(`${line.trim()}: ${r.out.trim()}`);
    }
    const missing = objs.filter((o) => !existsSync(join(tmp, `${o}.c`)));
    check('kmod-pdmv2: Build/Prepare copies Kbuild and a source for every object', failures.length === 0 && existsSync(join(tmp, 'Kbuild')) && objs.length > 0 && missing.length === 0, `${failures.join('; ')} missing: ${missing.join(' ')}`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

checkAgentPackage();
checkKmodPackage();
finish();
