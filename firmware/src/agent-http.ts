// HTTP POST for the agent through whichever client the system has
// (uclient-fetch on OpenWrt, curl, wget), run as a subprocess with a
// timeout and a response size limit. The body goes through a 0600 file in
// the run directory because uclient-fetch and wget only post files.
import type { HttpClient } from './agent-config.js';
import { mkdirs, pid, realPath, removeFile, spawn, which, writeAtomic } from './agent-sys.js';

export interface HttpResponse {
  readonly status: number;
  readonly body: Uint8Array;
  readonly retryAfter?: number;
}

export class HttpError extends Error {
  constructor(
    message: string,
    readonly kind: 'no-client' | 'transport' | 'timeout' | 'too-large' | 'protocol',
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

const CLIENTS: readonly Exclude<HttpClient, 'auto'>[] = ['uclient-fetch', 'curl', 'wget'];

/**
 * BusyBox wget cannot post the binary envelope: it sends strlen() of the
 * --post-file contents (the body ends at the first NUL octet, and the primary
 * answers 400). Builds without FEATURE_WGET_TIMEOUT also crash on -T.
 */
export function isBusyboxWget(path: string): boolean {
  return /(^|\/)busybox[^/]*$/.test(realPath(path) ?? '');
}

export function findClient(pref: HttpClient): { name: Exclude<HttpClient, 'auto'>; path: string } | null {
  for (const name of pref === 'auto' ? CLIENTS : [pref]) {
    const path = which(name);
    if (path && !(name === 'wget' && isBusyboxWget(path))) return { name, path };
  }
  return null;
}

export interface PostOptions {
  readonly client: HttpClient;
  readonly timeoutSec: number;
  readonly maxBytes: number;
  readonly tmpDir: string;
}

let seq = 0;

/** Splits curl -i output: skips 1xx blocks, returns status, headers and body. */
export function splitHeaders(raw: Uint8Array): { status: number; headers: Record<string, string>; body: Uint8Array } | null {
  let off = 0;
  for (;;) {
    let end = -1;
    for (let i = off; i + 3 < raw.length; i++) {
      if (raw[i] === 13 && raw[i + 1] === 10 && raw[i + 2] === 13 && raw[i + 3] === 10) {
        end = i;
        break;
      }
    }
    if (end < 0) return null;
    const head = String.fromCharCode(...raw.subarray(off, end));
    const m = /^HTTP\/[0-9.]+ (\d{3})/.exec(head);
    if (!m) return null;
    const status = Number(m[1]);
    off = end + 4;
    if (status >= 100 && status < 200) continue;
    const headers: Record<string, string> = {};
    for (const line of head.split('\r\n').slice(1)) {
      const c = line.indexOf(':');
      if (c > 0) headers[line.slice(0, c).trim().toLowerCase()] = line.slice(c + 1).trim();
    }
    return { status, headers, body: raw.slice(off) };
  }
}

function retryAfter(v: string | undefined): number | undefined {
  return v && /^\d{1,6}$/.test(v) ? Number(v) : undefined;
}

/** Status from the stderr of wget (-S headers, "ERROR 429") or uclient-fetch ("HTTP error 429"). */
export function statusFromStderr(text: string): { status: number | null; retryAfter?: number } {
  let status: number | null = null;
  for (const m of text.matchAll(/(?:^|\n)\s*HTTP\/[0-9.]+ (\d{3})/g)) status = Number(m[1]);
  if (status === null) {
    const m = /(?:HTTP error|ERROR|server returned error:[^\n]*?) (\d{3})\b/.exec(text);
    if (m) status = Number(m[1]);
  }
  const ra = /(?:^|\n)\s*retry-after:\s*(\d+)/i.exec(text);
  return ra ? { status, retryAfter: Number(ra[1]) } : { status };
}

export async function httpPost(url: string, body: Uint8Array, o: PostOptions): Promise<HttpResponse> {
  // qjs 2025-04-26 exits on any promise rejected while nothing awaits it yet (its rejection
  // tracker is on by default), which includes an async function throwing before its first
  // await: nothing below may throw before this point.
  await null;
  const client = findClient(o.client);
  if (!client) {
    const wget = which('wget');
    const bb = wget && (o.client === 'auto' || o.client === 'wget') && isBusyboxWget(wget) ? `; ${wget} is BusyBox wget, which cuts binary request bodies at the first NUL octet` : '';
    throw new HttpError(`no usable HTTP client found (${o.client === 'auto' ? CLIENTS.join(', ') : o.client}${bb})`, 'no-client');
  }
  mkdirs(o.tmpDir, 0o700);
  const file = `${o.tmpDir}/req-${pid()}-${seq++}.bin`;
  writeAtomic(file, body, 0o600);
  const t = String(o.timeoutSec);
  let argv: string[];
  switch (client.name) {
    case 'curl':
      argv = [
        client.path, '-sS', '-i', '-X', 'POST', '--data-binary', `@${file}`,
        '-H', 'Content-Type: application/octet-stream', '-H', 'Expect:',
        '--max-time', t, '--connect-timeout', String(Math.min(o.timeoutSec, 10)),
        '--proto', '=http,https', '--max-filesize', String(o.maxBytes), url,
      ];
      break;
    case 'wget':
      argv = [client.path, '-S', '-O', '-', `--post-file=${file}`, '--header=Content-Type: application/octet-stream', '-T', t, '-t', '1', url];
      break;
    default:
      // No -q: uclient-fetch reports "HTTP error NNN" only when not quiet (openwrt/uclient uclient-fetch.c).
      argv = [client.path, '-O', '-', `--post-file=${file}`, '--header=Content-Type: application/octet-stream', `--timeout=${t}`, url];
  }
  let r;
  try {
    r = await spawn(argv, { timeoutMs: (o.timeoutSec + 5) * 1000, maxStdout: o.maxBytes + 16384 });
  } finally {
    removeFile(file);
  }
  if (r.killed === 'timeout') throw new HttpError(`${client.name}: no answer from ${url} within ${o.timeoutSec} s`, 'timeout');
  if (r.killed === 'too-large') throw new HttpError(`${client.name}: answer from ${url} larger than ${o.maxBytes} octets`, 'too-large');
  if (client.name === 'curl') {
    const parts = splitHeaders(r.stdout);
    if (!parts) {
      const why = r.stderr.trim().split('\n').pop() ?? '';
      throw new HttpError(`curl: ${why || `exit ${r.code}`} (${url})`, r.code === 28 ? 'timeout' : 'transport');
    }
    if (parts.body.length > o.maxBytes) throw new HttpError(`answer from ${url} larger than ${o.maxBytes} octets`, 'too-large');
    const ra = retryAfter(parts.headers['retry-after']);
    return ra === undefined ? { status: parts.status, body: parts.body } : { status: parts.status, body: parts.body, retryAfter: ra };
  }
  const st = statusFromStderr(r.stderr);
  if (r.code === 0) {
    if (r.stdout.length > o.maxBytes) throw new HttpError(`answer from ${url} larger than ${o.maxBytes} octets`, 'too-large');
    return { status: st.status ?? 200, body: r.stdout };
  }
  if (st.status !== null && st.status !== 200) {
    // wget/uclient-fetch drop the body of an error answer; the status says enough.
    return st.retryAfter === undefined ? { status: st.status, body: new Uint8Array(0) } : { status: st.status, body: new Uint8Array(0), retryAfter: st.retryAfter };
  }
  const why = r.stderr.trim().split('\n').filter((x) => x.trim()).pop() ?? (r.signal ? `killed by signal ${r.signal}` : `exit ${r.code}`);
  throw new HttpError(`${client.name}: ${why} (${url})`, /timed? ?out/i.test(why) ? 'timeout' : 'transport');
}
