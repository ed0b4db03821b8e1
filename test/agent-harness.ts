/// <reference types="node" />
// The real agent bundle on real QuickJS with its kernel control file and nft
// ruleset in a temp dir (a fake `nft` that logs its arguments): shared by
// test/primary-agent.test.ts and the flash-writes benchmark
// (test/bench/agent-flash.ts).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { toHex } from '../core/src/util/bytes.js';
import { REPO, tempDir } from '../primary/test/harness.js';

export const QJS = join(REPO, 'build', 'qjs');
// The minified bundle: what the firmware package ships.
export const BUNDLE = join(REPO, '.build', 'qjs', 'pdmv2d.min.mjs');

export type Cleanups = (() => Promise<void> | void)[];

export interface AgentDir {
  dir: string;
  env?: NodeJS.ProcessEnv;
  /** qjs options before the module (e.g. --memory-limit, as the package's wrapper passes it) */
  qjsArgs?: string[];
  config: string;
  control: string;
  nft: string;
  nftLog: string;
  /** state_dir: flash on a router */
  state: string;
  /** run_dir: tmpfs on a router */
  run: string;
}

export interface AgentOptions {
  url: string;
  pk: Uint8Array | string;
  role: string;
  prefixes: string[];
  token?: string;
  extra?: string;
}

export function agentDir(name: string, o: AgentOptions, cleanups: Cleanups): AgentDir {
  const t = tempDir(`agent-${name}`);
  cleanups.push(t.cleanup);
  const d: AgentDir = {
    dir: t.dir,
    config: join(t.dir, 'pdmv2'),
    control: join(t.dir, 'control'),
    nft: join(t.dir, 'pdmv2.nft'),
    nftLog: join(t.dir, 'nft.log'),
    state: join(t.dir, 'state'),
    run: join(t.dir, 'run'),
  };
  writeFileSync(d.control, '');
  // nft as far as the agent uses it: -f FILE loads, -t list table inet pdmv2 shows what is loaded
  const fakeNft = join(t.dir, 'fake-nft');
  const loaded = join(t.dir, 'nft-loaded');
  writeFileSync(
    fakeNft,
    `#!/bin/sh
echo "$@" >> '${d.nftLog}'
case "$1" in
-f) cp "$2" '${loaded}' ;;
-t) grep -q '^table inet pdmv2 {' '${loaded}' 2>/dev/null && cat '${loaded}' ;;
list) cat '${loaded}' 2>/dev/null; exit 0 ;;
esac
`,
  );
  chmodSync(fakeNft, 0o755);
  writeFileSync(
    d.config,
    [
      '# pdmv2 test configuration',
      "config pdmv2 'main'",
      "\toption enabled '1'",
      `\toption primary_url '${o.url}'`,
      `\toption primary_key '${typeof o.pk === 'string' ? o.pk : toHex(o.pk)}'`,
      `\toption role '${o.role}'`,
      ...o.prefixes.map((p) => `\tlist prefix '${p}'`),
      ...(o.token ? [`\toption token '${o.token}'`] : []),
      `\toption state_dir '${d.state}'`,
      `\toption run_dir '${d.run}'`,
      `\toption control '${d.control}'`,
      `\toption nft_file '${d.nft}'`,
      `\toption nft '${fakeNft}'`,
      "\toption http_client 'curl'",
      "\toption http_timeout '5'",
      "\toption poll_max '2'",
      "\toption retry_min '1'",
      "\toption retry_max '2'",
      o.extra ?? '',
      '',
    ].join('\n'),
  );
  return d;
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function agent(d: AgentDir, args: string[], debug = false): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(QJS, ['--std', ...(d.qjsArgs ?? []), '-m', BUNDLE, '--config', d.config, ...args], { timeout: 60000, env: { ...process.env, ...(d.env ?? {}) } }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      if (debug) console.log(`agent ${args.join(' ')} -> ${code}\n${stdout}${stderr}`);
      resolve({ code, stdout, stderr });
    });
    child.stdin!.end(args[0] === 'call' ? '{}' : ''); // as rpcd does: JSON arguments, then EOF
  });
}

export type Daemon = ChildProcess & { log: string[] };

export function daemon(d: AgentDir, cleanups: Cleanups): Daemon {
  const c = spawn(QJS, ['--std', ...(d.qjsArgs ?? []), '-m', BUNDLE, '--config', d.config, 'run'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...(d.env ?? {}) } }) as Daemon;
  c.log = [];
  c.stderr!.on('data', (b: Buffer) => c.log.push(...b.toString().split('\n').filter(Boolean)));
  c.stdout!.on('data', (b: Buffer) => c.log.push(...b.toString().split('\n').filter(Boolean)));
  cleanups.push(() => {
    if (c.exitCode === null && c.pid) c.kill('SIGKILL');
  });
  return c;
}

export async function waitFor<T>(what: string, f: () => T | null | undefined | false, timeoutMs = 20000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = f();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const readJson = (path: string): Record<string, unknown> | null => (existsSync(path) ? (JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>) : null);

/**
 * The agent's state as one object: the run-time record (run_dir/state.json,
 * tmpfs) with the grant kept on flash (state_dir/grant.json); null before
 * the first save.
 */
export function agentState(d: AgentDir): Record<string, unknown> | null {
  const run = readJson(join(d.run, 'state.json'));
  const flash = readJson(join(d.state, 'grant.json'));
  if (!run && !flash) return null;
  return { ...(run ?? {}), grant: flash?.grant ?? null };
}

/**
 * Counts the writes that reach a directory (inotify through fs.watch): every
 * file that appears, is replaced, changes or goes away under its final name.
 * The agent's temporary files (NAME.tmpPID, NAME.newPID) are the same
 * writes on their way and are not counted twice.
 */
export class WriteCounter {
  count = 0;
  readonly names: string[] = [];
  private readonly w: FSWatcher;
  constructor(dir: string) {
    this.w = watch(dir, (_event, name) => {
      if (!name || /\.(tmp|new)\d+$/.test(name)) return;
      this.count++;
      this.names.push(name);
    });
  }
  reset(): void {
    this.count = 0;
    this.names.length = 0;
  }
  close(): void {
    this.w.close();
  }
}

/** Runs a benchmark's main, then its cleanups; an error sets exit status 1. */
export function runMain(main: () => Promise<void>, cleanups: Cleanups): void {
  main()
    .catch((e: unknown) => {
      console.error(e);
      process.exitCode = 1;
    })
    .finally(async () => {
      for (const c of cleanups.reverse()) await c();
    });
}
