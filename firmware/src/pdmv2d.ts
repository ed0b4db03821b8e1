// pdmv2d: the PDMv2 agent for OpenWrt routers and servers, on QuickJS.
//
//   qjs --std -m pdmv2d.mjs run|enroll|status [--json]|fingerprint|wipe [--config FILE]
//   qjs --std -m pdmv2d.mjs list | call METHOD     (rpcd exec plugin: ubus object "pdmv2")
//
// See docs/agent.md.
import './polyfills.js';
import { toHex } from '../../core/src/util/bytes.js';
import { DEFAULT_CONFIG_PATH } from './agent-config.js';
import { setUciOption } from './agent-uci.js';
import { Agent, AGENT_VERSION, formatStatus, loadConfig, log, runningPid, statusReport } from './agent.js';
import { loadDeviceKey, loadState } from './agent-state.js';
import { exit, getenv, isFile, readText, sendSignal, SIGHUP, SIGUSR1, sleep, spawn, stdout, which, writeAtomic } from './agent-sys.js';
import { scriptArguments } from './qjs-runtime.js';
import * as std from 'std';

const USAGE = `pdmv2d ${AGENT_VERSION}: PDMv2 agent
usage: pdmv2d [--config FILE] COMMAND
  run               daemon (procd): enroll, install secrets, renew, follow revocation
  enroll            one enrollment attempt now (asks the daemon when it runs)
                    exit 0 granted, 3 pending, 4 rejected or revoked, 1 error
  status [--json]   state, without secrets
  fingerprint       device fingerprint and public key (creates the key on first use)
  wipe [--kernel]   remove secrets from the kernel, the ruleset and flash
                    (--kernel: from the kernel and the ruleset only)
  list | call M     rpcd exec plugin (methods: status enable disable enroll flows)
config: --config FILE, else $PDMV2_CONFIG, else ${DEFAULT_CONFIG_PATH}`;

const RPC_METHODS = { status: {}, enable: {}, disable: {}, enroll: {}, flows: {} };

function out(s: string): void {
  stdout(s.endsWith('\n') ? s : `${s}\n`);
}

function readStdin(max: number): string {
  const f = (std as unknown as { in: { readAsString(n?: number): string } }).in;
  return f.readAsString(max);
}

/** Sets an option of the agent's section: `uci` for the system config, an in-place edit otherwise. */
async function setOption(configPath: string, option: string, value: string): Promise<void> {
  const cfg = loadConfig(configPath);
  if (configPath === DEFAULT_CONFIG_PATH && which('uci')) {
    const r1 = await spawn(['uci', 'set', `pdmv2.${cfg.section}.${option}=${value}`], { timeoutMs: 5000, maxStdout: 4096 });
    const r2 = await spawn(['uci', 'commit', 'pdmv2'], { timeoutMs: 5000, maxStdout: 4096 });
    if (r1.code === 0 && r2.code === 0) return;
  }
  const text = readText(configPath) ?? '';
  writeAtomic(configPath, setUciOption(text, cfg.section, option, value, configPath), 0o644);
}

function parseFlows(text: string | null): Record<string, unknown>[] {
  if (!text) return [];
  const names = ['saddr', 'sport', 'daddr', 'dport', 'proto', 'psn_next', 'psn_last_rx', 'tx_packets', 'rx_packets', 'age_s', 'idle_s', 'pmtu'];
  const flows: Record<string, unknown>[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.startsWith('#')) continue;
    const w = line.trim().split(/\s+/);
    if (w.length < names.length) continue;
    const f: Record<string, unknown> = {};
    names.forEach((n, i) => {
      const v = w[i]!;
      f[n] = n === 'saddr' || n === 'daddr' ? v : n === 'psn_last_rx' && v.startsWith('-') ? null : Number(v);
    });
    flows.push(f);
    if (flows.length >= 1000) break;
  }
  return flows;
}

async function rpcCall(configPath: string, method: string, input = ''): Promise<Record<string, unknown>> {
  if (input.trim()) {
    try {
      JSON.parse(input);
    } catch {
      return { error: 'invalid JSON arguments' };
    }
  }
  const cfg = loadConfig(configPath);
  switch (method) {
    case 'status': {
      let fp: string | null = null;
      let state = null;
      if (isFile(`${cfg.stateDir}/device.key`)) {
        const k = loadDeviceKey(cfg.stateDir);
        fp = k.fingerprint;
        state = loadState(cfg.stateDir, cfg.runDir, fp, cfg.primaryKey ? toHex(cfg.primaryKey) : '').state;
      }
      return { ...statusReport(cfg, state, fp), version: AGENT_VERSION };
    }
    case 'enable':
    case 'disable': {
      await setOption(configPath, 'enabled', method === 'enable' ? '1' : '0');
      const p = runningPid(cfg);
      if (p !== null) sendSignal(p, SIGHUP);
      else if (method === 'disable') {
        const a = new Agent(configPath);
        await a.wipe(true);
        a.state.status = 'disabled';
        a.save();
      } else if (isFile('/etc/init.d/pdmv2')) {
        await spawn(['/etc/init.d/pdmv2', 'start'], { timeoutMs: 10000, maxStdout: 4096 });
      }
      return { enabled: method === 'enable', daemon: p !== null ? 'signalled' : 'not running' };
    }
    case 'enroll': {
      const p = runningPid(cfg);
      if (p !== null) {
        sendSignal(p, SIGUSR1);
        return { triggered: true };
      }
      const a = new Agent(configPath);
      const r = await a.attempt();
      return { triggered: false, ...r };
    }
    case 'flows': {
      const dir = cfg.control.slice(0, cfg.control.lastIndexOf('/'));
      return { flows: parseFlows(readText(`${dir}/flows`)) };
    }
    default:
      return { error: `unknown method ${method}` };
  }
}

async function main(argv: string[]): Promise<number> {
  let configPath = getenv('PDMV2_CONFIG') || DEFAULT_CONFIG_PATH;
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--config' || argv[i] === '-c') configPath = argv[++i] ?? '';
    else args.push(argv[i]!);
  }
  const [cmd, ...rest] = args;
  switch (cmd) {
    case 'run': {
      const a = new Agent(configPath);
      await a.run();
      return 0;
    }
    case 'enroll': {
      const cfg = loadConfig(configPath);
      const p = runningPid(cfg);
      if (p !== null) {
        sendSignal(p, SIGUSR1);
        out(`asked the running daemon (pid ${p}) to enroll now`);
        return 0;
      }
      const a = new Agent(configPath);
      const r = await a.attempt();
      out(`${r.status}${r.code ? ` (${r.code})` : ''}: ${r.message}`);
      return { granted: 0, pending: 3, rejected: 4, revoked: 4, error: 1 }[r.status];
    }
    case 'status': {
      const r = await rpcCall(configPath, 'status').catch((e: Error) => ({ error: e.message }));
      out(rest.includes('--json') ? JSON.stringify(r) : 'error' in r ? `error: ${String(r.error)}` : formatStatus(r));
      return 'error' in r ? 1 : 0;
    }
    case 'fingerprint': {
      const cfg = loadConfig(configPath);
      const k = loadDeviceKey(cfg.stateDir);
      out(k.fingerprint);
      out(`public key ${toHex(k.pk)}`);
      return 0;
    }
    case 'wipe': {
      const cfg = loadConfig(configPath);
      // A daemon being stopped (procd: SIGTERM, then the init script's service_stopped) gets a moment to exit.
      for (let i = 0; i < 60 && runningPid(cfg) !== null; i++) await sleep(100);
      if (runningPid(cfg) !== null) {
        out('the daemon is running: use `pdmv2d call disable` or stop it first');
        return 1;
      }
      const kernelOnly = rest.includes('--kernel');
      const a = new Agent(configPath);
      await a.wipe(!kernelOnly);
      if (!kernelOnly) a.state.status = 'new';
      a.save();
      out(kernelOnly ? 'keys wiped from the kernel and the ruleset (the grant is kept)' : 'secrets wiped from the kernel, the ruleset and the state files');
      return 0;
    }
    case 'list':
      out(JSON.stringify(RPC_METHODS));
      return 0;
    case 'call': {
      const method = rest[0] ?? '';
      if (!(method in RPC_METHODS)) {
        out(JSON.stringify({ error: `unknown method ${method}` }));
        return 2;
      }
      // rpcd writes the call's JSON arguments to stdin and closes it.
      const r = await rpcCall(configPath, method, readStdin(65536)).catch((e: Error) => ({ error: e.message }));
      out(JSON.stringify(r));
      return 0;
    }
    case '-h':
    case '--help':
    case 'help':
      out(USAGE);
      return 0;
    default:
      out(USAGE);
      return 2;
  }
}

main(scriptArguments()).then(
  (code) => exit(code),
  (e: unknown) => {
    log('error', e instanceof Error ? e.message : String(e));
    exit(1);
  },
);
