/// <reference types="node" />
// Test and benchmark helpers for the primary: temp dirs, the CLI as a child
// process, a simulated device that speaks the enrollment protocol over HTTP.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildEnrollRequest, plainError, readEnrollResponse, type BuiltRequest } from '../../core/src/enroll/client.js';
import type { EnrollResponse, Role } from '../../core/src/enroll/messages.js';
import type { SuiteProvider } from '../../core/src/enroll/seal.js';
import { fastSuites, generateX25519, nodeRandom } from '../src/fast-suite.js';
import { KEY_OF } from './backend.js';
import type { Pairing } from '../src/store.js';
import { openStore } from '../src/open-store.js';

export const MAIN_JS = fileURLToPath(new URL('../src/main.js', import.meta.url));
export const REPO = fileURLToPath(new URL('../../../../', import.meta.url));

export function tempDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(join(tmpdir(), `pdmv2-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** With a PostgreSQL --db, the key file that goes with it (a SQLite database has it next to it). */
function withKey(args: string[]): string[] {
  const db = args[args.indexOf('--db') + 1];
  const key = args.includes('--db') && !args.includes('--key') && db ? KEY_OF.get(db) : undefined;
  return key ? [...args, '--key', key] : args;
}

/** Runs the primary CLI (the real entry point) in a child process. */
export function cli(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [MAIN_JS, ...withKey(args)], { env: { ...process.env, ...env }, timeout: 30000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, stdout, stderr });
    });
  });
}

export async function cliOk(args: string[]): Promise<string> {
  const r = await cli(args);
  if (r.code !== 0) throw new Error(`pdmv2-primary ${args.join(' ')} failed (${r.code}): ${r.stderr}${r.stdout}`);
  return r.stdout;
}

export interface PostAnswer {
  readonly status: number;
  readonly body: Uint8Array;
  readonly headers: Headers;
}

/**
 * One POST on a connection of its own, as the agent's HTTP clients (curl,
 * uclient-fetch) make it: a pooled keep-alive connection could be closed by the
 * server's idle timeout just as a request goes out on it, which a router never
 * sees and a test must not fail on.
 */
export function postRaw(url: string, body: Uint8Array, signal?: AbortSignal): Promise<PostAnswer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: 'POST', agent: false, headers: { 'content-type': 'application/octet-stream', 'content-length': body.length }, ...(signal ? { signal } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const headers = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
          }
          resolve({ status: res.statusCode ?? 0, body: new Uint8Array(Buffer.concat(chunks)), headers });
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** A simulated Secondary: its own key, speaking to one primary. */
export class SimDevice {
  readonly sk: Uint8Array;
  readonly pk: Uint8Array;
  constructor(
    readonly base: string,
    readonly primaryPk: Uint8Array,
    readonly role: Role = 'client',
    readonly prefixes: string[] = [],
    readonly suites: SuiteProvider = fastSuites,
  ) {
    const kp = generateX25519();
    this.sk = kp.privateKey;
    this.pk = kp.publicKey;
  }

  get device() {
    return { sk: this.sk, pk: this.pk };
  }

  build(o: { token?: string; now?: number; prefixes?: string[]; primaryPk?: Uint8Array } = {}): BuiltRequest {
    return buildEnrollRequest({
      device: this.device,
      primaryPk: o.primaryPk ?? this.primaryPk,
      role: this.role,
      prefixes: o.prefixes ?? this.prefixes,
      ...(o.token ? { token: o.token } : {}),
      now: o.now ?? Math.floor(Date.now() / 1000),
      random: nodeRandom,
      suites: this.suites,
    });
  }

  /** Sends `sent`; returns the opened response or throws EnrollClientError. */
  async send(sent: BuiltRequest, signal?: AbortSignal): Promise<EnrollResponse> {
    const r = await postRaw(`${this.base}/v1/enroll`, sent.envelope, signal);
    if (r.status !== 200) throw plainError(r.status, Buffer.from(r.body).toString('latin1'));
    return readEnrollResponse({ body: r.body, sent, device: this.device, primaryPk: this.primaryPk, suites: this.suites });
  }

  enroll(o: { token?: string; now?: number; prefixes?: string[] } = {}): Promise<EnrollResponse> {
    return this.send(this.build(o));
  }
}

export interface ServeProcess {
  readonly child: ChildProcess;
  readonly url: string;
  readonly port: number;
  readonly pk: Uint8Array;
  /** Ends the process with `signal` and waits for it. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `pdmv2-primary serve ARGS` as its own process on 127.0.0.1 (port 0 unless given); resolves once it listens. */
export function spawnPrimary(args: string[], nodeArgs: string[] = []): Promise<ServeProcess> {
  const withListen = withKey(args.includes('--listen') ? args : [...args, '--listen', '127.0.0.1:0']);
  const child = spawn(process.execPath, [...nodeArgs, MAIN_JS, 'serve', ...withListen], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (b: Buffer) => {
    err += b.toString();
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout!.on('data', (b: Buffer) => {
      if (buf.length > 65536) return;
      buf += b.toString();
      const pk = /primary public key: ([0-9a-f]{64})/.exec(buf);
      const url = /listening on (http:\/\/\S+)/.exec(buf);
      if (pk && url) {
        const gone = new Promise<void>((r) => child.once('exit', () => r()));
        resolve({
          child,
          url: url[1]!,
          port: Number(/:(\d+)$/.exec(url[1]!)![1]),
          pk: Uint8Array.from(Buffer.from(pk[1]!, 'hex')),
          stop: async (signal = 'SIGTERM') => {
            if (child.exitCode === null && child.signalCode === null) child.kill(signal);
            await gone;
          },
        });
      }
    });
    child.once('exit', (c, s) => reject(new Error(`primary exited before listening (${c ?? s}): ${err.trim()}`)));
  });
}

/** A client-role pairing with a random PMS and peer key, as the tests and benchmarks put straight into a store. */
export function testPairing(o: { id: string; t0: number; period: number; overlap: number; clientPrefixes: string[] }): Omit<Pairing, 'status' | 'created' | 'updated'> {
  return {
    role: 'client',
    peerPk: nodeRandom(32),
    peerUrl: null,
    pms: nodeRandom(32),
    suite: '32/1/65535',
    dataAead: 1,
    mode: 'encrypted',
    serverPrefixes: ['2001:db8:ff::/48'],
    ...o,
  };
}

/** A primary's database made ready for a burst: one client prefix, one pairing for it, `tokens` one-time tokens (returned). */
export async function seedPrimary(db: string, o: { prefix: string; pairing: { id: string; t0: number; period: number; overlap: number }; tokens: number; now: number }): Promise<string[]> {
  const store = await openStore(db);
  try {
    await store.addPrefix(o.prefix, 'client', o.now);
    await store.insertPairing(testPairing({ ...o.pairing, clientPrefixes: [o.prefix] }), o.now);
    const tokens: string[] = [];
    await store.tx(async (s) => {
      for (let i = 0; i < o.tokens; i++) tokens.push((await s.createToken({ role: 'client', prefixes: [o.prefix], ttl: 3600, now: o.now })).token);
    });
    return tokens;
  } finally {
    await store.db.close();
  }
}
