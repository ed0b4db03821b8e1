/// <reference types="node" />
// The lab's primaries on the host (`pdmv2-primary serve` processes on
// 127.0.0.1, the guest's 10.0.2.2 through QEMU user networking) and the
// administrator's steps the lab scenarios share: prefixes and pairing,
// tokens, an analyzer key with the router's keys exported to it. Used by
// test/lab/e2e-host.ts and test/lab/luci-host.ts.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const MAIN_JS = fileURLToPath(new URL('../../primary/src/main.js', import.meta.url));
export const ANALYZER_JS = fileURLToPath(new URL('../../analyzer/src/cli.js', import.meta.url));

/**
 * Runs a program to its end. `stderr` also says why a run without an exit code ended
 * (killed at the timeout, a signal, output over the limit): a failed check once showed
 * nothing at all.
 */
export function run(file: string, args: string[], timeoutMs = 30000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const t0 = Date.now();
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (!err) return resolve({ code: 0, stdout, stderr });
      const e = err as { code?: unknown; signal?: unknown; killed?: boolean };
      if (typeof e.code === 'number') return resolve({ code: e.code, stdout, stderr });
      const why = e.killed ? `killed (${String(e.signal)}) after ${Date.now() - t0} ms, the limit is ${timeoutMs} ms` : e.signal ? `ended by ${String(e.signal)}` : err.message;
      resolve({ code: 1, stdout, stderr: `${stderr}${stderr && !stderr.endsWith('\n') ? '\n' : ''}${file}: ${why}` });
    });
  });
}

// ---------------------------------------------------------------------------------------------
// primaries

export class Primary {
  proc: ChildProcess | null = null;
  port = 0;
  pk = '';
  fingerprint = '';
  readonly dir: string;
  constructor(
    readonly name: string,
    state: string,
    readonly renew: number,
  ) {
    this.dir = join(state, name);
    mkdirSync(this.dir, { recursive: true });
  }
  get db(): string {
    return join(this.dir, 'primary.db');
  }
  get log(): string {
    return join(this.dir, 'primary.log');
  }

  /** `pdmv2-primary serve` as its own process; resolves once it listens. */
  start(): Promise<void> {
    const args = [MAIN_JS, 'serve', '--init', '--db', this.db, '--listen', `127.0.0.1:${this.port}`, '--renew', String(this.renew), '--rate', '0', '--pending-retry', '1'];
    appendFileSync(this.log, `# ${new Date().toISOString()} node ${args.join(' ')}\n`);
    const p = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.proc = p;
    return new Promise((resolve, reject) => {
      let buf = '';
      let up = false;
      const timer = setTimeout(() => reject(new Error(`${this.name}: not listening after 30 s`)), 30000);
      const onData = (b: Buffer): void => {
        appendFileSync(this.log, b);
        if (up) return;
        buf += b.toString();
        const pk = /primary public key: ([0-9a-f]{64})/.exec(buf);
        const fp = /primary fingerprint: (\S+)/.exec(buf);
        const l = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(buf);
        if (pk && fp && l) {
          up = true;
          clearTimeout(timer);
          if (this.pk && this.pk !== pk[1]) reject(new Error(`${this.name}: public key changed across a restart`));
          this.pk = pk[1]!;
          this.fingerprint = fp[1]!;
          this.port = Number(l[1]);
          resolve();
        }
      };
      p.stdout!.on('data', onData);
      p.stderr!.on('data', (b: Buffer) => appendFileSync(this.log, b));
      p.on('exit', (code, sig) => {
        appendFileSync(this.log, `# exited: code ${code} signal ${sig}\n`);
        if (!up) {
          clearTimeout(timer);
          reject(new Error(`${this.name}: exited before listening (code ${code}, signal ${sig}); see ${this.log}`));
        }
      });
    });
  }

  /** Ends the process with `sig` and waits for it. */
  async stop(sig: NodeJS.Signals): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const gone = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill(sig);
    const t = setTimeout(() => p.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }

  /** The admin CLI on this primary's database (as an administrator runs it next to the service). */
  async cli(...args: string[]): Promise<string> {
    const r = await run(process.execPath, [MAIN_JS, ...args, '--db', this.db]);
    appendFileSync(this.log, `# cli ${args.join(' ')} -> ${r.code}\n`);
    if (r.code !== 0) throw new Error(`pdmv2-primary ${args.join(' ')} (${this.name}) failed with ${r.code}: ${r.stderr.trim()}${r.stdout.trim()}`);
    return r.stdout;
  }

  async devices(status?: string): Promise<DeviceJson[]> {
    return JSON.parse(await this.cli('list', '--json', ...(status ? ['--status', status] : []))) as DeviceJson[];
  }
}

export interface DeviceJson {
  fingerprint: string;
  status: string;
  role: string;
  prefixes: string[];
  requested_prefixes: string[];
  approved_via: string | null;
  grants: number;
}

export function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

/** Client prefixes on the Primary Client, the server prefix on the Primary Server, and a pairing over HTTP. */
export async function pairPrimaries(pc: Primary, ps: Primary, clientPrefixes: string[], serverPrefix: string): Promise<{ pairing: string; ok: boolean; detail: string }> {
  await pc.cli('prefix', 'add', '--client', ...clientPrefixes);
  await ps.cli('prefix', 'add', '--server', serverPrefix);
  await ps.cli('pair', 'accept', '--peer-key', pc.pk, '--ttl', '10m');
  const paired = await pc.cli('pair', 'init', `http://127.0.0.1:${ps.port}`, '--peer-key', ps.pk, '--period', '1d', '--overlap', '1h');
  const pairing = /paired: ([0-9a-f]{16})/.exec(paired)?.[1] ?? '';
  const pcList = await pc.cli('pair', 'list');
  const psList = await ps.cli('pair', 'list');
  const ok = pairing !== '' && new RegExp(`^${pairing} +client +active`, 'm').test(pcList) && new RegExp(`^${pairing} +server +active`, 'm').test(psList);
  return { pairing, ok, detail: paired.trim() };
}

/** A one-time enrollment token. */
export async function token(p: Primary, role: string, prefix: string, ttl: string): Promise<string> {
  return (JSON.parse(await p.cli('token', 'create', '--role', role, '--prefix', prefix, '--ttl', ttl, '--json')) as { token: string }).token;
}

/** STATE/analyzer.key, and the keys of the router's prefix exported sealed to it in STATE/rtr-keys.pdmk. */
export async function exportRouterKeys(pc: Primary, pairing: string, prefix: string, state: string): Promise<{ ok: boolean; detail: string }> {
  const kg = await pc.cli('analyzer-keygen', '--out', join(state, 'analyzer.key'));
  const apk = /analyzer public key: ([0-9a-f]{64})/.exec(kg)?.[1] ?? '';
  const ex = await pc.cli('export-keys', '--pairing', pairing, '--analyzer-key', apk, '--prefix', prefix, '--out', join(state, 'rtr-keys.pdmk'));
  return { ok: existsSync(join(state, 'rtr-keys.pdmk')), detail: ex.trim() };
}
