// The agent's access to the system on QuickJS (qjs --std -m): files with
// atomic replacement, subprocesses with pipes, timeouts and size limits,
// timers, signals. Everything the agent does to the outside world goes
// through here, so the rest of the agent is plain logic.
import * as std from 'std';
import * as os from 'os';

interface Stat {
  mode: number;
  size: number;
  mtime: number;
}

interface QjsOs {
  O_RDONLY: number;
  O_WRONLY: number;
  O_RDWR: number;
  O_CREAT: number;
  O_EXCL: number;
  O_TRUNC: number;
  O_APPEND: number;
  S_IFMT: number;
  S_IFREG: number;
  S_IFDIR: number;
  SIGTERM: number;
  SIGINT: number;
  SIGUSR1: number;
  WNOHANG: number;
  open(path: string, flags: number, mode?: number): number;
  close(fd: number): number;
  read(fd: number, buf: ArrayBuffer, off: number, len: number): number;
  write(fd: number, buf: ArrayBuffer, off: number, len: number): number;
  remove(path: string): number;
  rename(a: string, b: string): number;
  mkdir(path: string, mode?: number): number;
  stat(path: string): [Stat, number];
  readdir(path: string): [string[], number];
  realpath(path: string): [string, number];
  pipe(): [number, number] | null;
  exec(argv: string[], opts: Record<string, unknown>): number;
  waitpid(pid: number, flags: number): [number, number];
  kill(pid: number, sig: number): number;
  getpid(): number;
  now(): number;
  setTimeout(f: () => void, ms: number): unknown;
  clearTimeout(h: unknown): void;
  setReadHandler(fd: number, f: (() => void) | null): void;
  signal(sig: number, f: (() => void) | null): void;
}

interface QjsFile {
  readAsString(max?: number): string;
  close(): number;
}

interface QjsStd {
  loadFile(path: string): string | null;
  open(path: string, mode: string): QjsFile | null;
  getenv(name: string): string | undefined;
  strerror(errno: number): string;
  exit(code: number): never;
  out: { puts(s: string): void; flush(): void };
  err: { puts(s: string): void; flush(): void };
}

const qos = os as QjsOs;
const qstd = std as QjsStd;

export const SIGHUP = 1;
export const SIGKILL = 9;
export const SIGTERM = 15;
export const SIGINT = 2;
export const SIGUSR1 = qos.SIGUSR1;

/**
 * O_SYNC for the running architecture, found from the O_CREAT value QuickJS
 * exports (QuickJS has no fsync()): generic Linux ABIs (x86, ARM, AArch64,
 * RISC-V, PowerPC) 0x40/04010000, MIPS 0x100/0x4010. Unknown: 0, and the
 * rename alone still makes every state write atomic.
 */
const O_SYNC = qos.O_CREAT === 0x40 ? 0x101000 : qos.O_CREAT === 0x100 ? 0x4010 : 0;

export class SysError extends Error {
  readonly errno: number;
  constructor(message: string, errno = 0) {
    super(errno ? `${message}: ${qstd.strerror(errno)}` : message);
    this.name = 'SysError';
    this.errno = errno;
  }
}

export function getenv(name: string): string | undefined {
  return qstd.getenv(name);
}

export function strerror(errno: number): string {
  return qstd.strerror(errno);
}

export function stdout(s: string): void {
  qstd.out.puts(s);
  qstd.out.flush();
}

export function stderr(s: string): void {
  qstd.err.puts(s);
  qstd.err.flush();
}

export function exit(code: number): never {
  qstd.out.flush();
  qstd.err.flush();
  return qstd.exit(code);
}

export function pid(): number {
  return qos.getpid();
}

/** Wall clock, seconds (may be wrong on a router without RTC; the agent corrects it from the primary). */
export function wallSeconds(): number {
  return Date.now() / 1000;
}

/** Monotonic milliseconds. */
export function monoMs(): number {
  return qos.now();
}

export function setTimer(f: () => void, ms: number): unknown {
  return qos.setTimeout(f, Math.max(0, Math.min(ms, 0x7fffffff)));
}

export function clearTimer(h: unknown): void {
  if (h !== undefined && h !== null) qos.clearTimeout(h);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimer(resolve, ms));
}

export function onSignal(sig: number, f: (() => void) | null): void {
  qos.signal(sig, f);
}

/** True when a process with this pid exists (kill(pid, 0)). */
export function processAlive(p: number): boolean {
  return p > 0 && qos.kill(p, 0) === 0;
}

export function sendSignal(p: number, sig: number): boolean {
  return qos.kill(p, sig) === 0;
}

// ---------------------------------------------------------------------------------------------
// files

export function stat(path: string): Stat | null {
  const [st, err] = qos.stat(path);
  return err === 0 ? st : null;
}

export function isFile(path: string): boolean {
  const st = stat(path);
  return st !== null && (st.mode & qos.S_IFMT) === qos.S_IFREG;
}

export function isDir(path: string): boolean {
  const st = stat(path);
  return st !== null && (st.mode & qos.S_IFMT) === qos.S_IFDIR;
}

/**
 * Whole text file, or null. Reads to EOF (std.loadFile sizes the file first
 * and so returns "" for /proc files).
 */
export function readText(path: string, max = 1 << 20): string | null {
  const f = qstd.open(path, 'r');
  if (!f) return null;
  try {
    return f.readAsString(max);
  } finally {
    f.close();
  }
}

/** Reads at most `max` octets; null when the file cannot be opened. */
export function readBytes(path: string, max: number): Uint8Array | null {
  const fd = qos.open(path, qos.O_RDONLY);
  if (fd < 0) return null;
  try {
    const out = new Uint8Array(max);
    let n = 0;
    while (n < max) {
      const r = qos.read(fd, out.buffer, n, max - n);
      if (r <= 0) break;
      n += r;
    }
    return out.slice(0, n);
  } finally {
    qos.close(fd);
  }
}

/** The path with every symlink resolved, or null. */
export function realPath(path: string): string | null {
  const [p, err] = qos.realpath(path);
  return err === 0 ? p : null;
}

export function removeFile(path: string): void {
  qos.remove(path);
}

/** mkdir -p with `mode` for the directories it creates. */
export function mkdirs(path: string, mode = 0o700): void {
  let cur = path.startsWith('/') ? '' : '.';
  for (const part of path.split('/').filter((p) => p.length > 0)) {
    cur += `/${part}`;
    if (isDir(cur)) continue;
    const r = qos.mkdir(cur, mode);
    if (r < 0 && !isDir(cur)) throw new SysError(`cannot create directory ${cur}`, -r);
  }
}

/** UTF-8 through the TextEncoder that polyfills.js installs on QuickJS. */
function toBytes(data: string | Uint8Array): Uint8Array {
  if (typeof data !== 'string') return data;
  const g = globalThis as unknown as { TextEncoder: new () => { encode(s: string): Uint8Array } };
  return new g.TextEncoder().encode(data);
}

function writeAll(fd: number, bytes: Uint8Array, path: string): void {
  let off = 0;
  while (off < bytes.length) {
    const n = qos.write(fd, bytes.buffer as ArrayBuffer, bytes.byteOffset + off, bytes.length - off);
    if (n <= 0) throw new SysError(`write to ${path} failed`, n < 0 ? -n : 0);
    off += n;
  }
}

/**
 * Replaces `path` atomically: a new file in the same directory (mode `mode`,
 * exclusive create, O_SYNC where known), written completely, then renamed
 * over the old one. A kill -9 at any point leaves the old file or the new
 * one, never a mix.
 */
export function writeAtomic(path: string, data: string | Uint8Array, mode = 0o600): void {
  const tmp = `${path}.tmp${pid()}`;
  qos.remove(tmp);
  const fd = qos.open(tmp, qos.O_WRONLY | qos.O_CREAT | qos.O_EXCL | O_SYNC, mode);
  if (fd < 0) throw new SysError(`cannot create ${tmp}`, -fd);
  try {
    writeAll(fd, toBytes(data), tmp);
  } catch (e) {
    qos.close(fd);
    qos.remove(tmp);
    throw e;
  }
  qos.close(fd);
  const r = qos.rename(tmp, path);
  if (r < 0) {
    qos.remove(tmp);
    throw new SysError(`cannot rename ${tmp} to ${path}`, -r);
  }
}

/** Creates `path` with `data` only if it does not exist. Returns false if it existed. */
export function createExclusive(path: string, data: string | Uint8Array, mode = 0o600): boolean {
  const tmp = `${path}.new${pid()}`;
  qos.remove(tmp);
  const fd = qos.open(tmp, qos.O_WRONLY | qos.O_CREAT | qos.O_EXCL | O_SYNC, mode);
  if (fd < 0) throw new SysError(`cannot create ${tmp}`, -fd);
  try {
    writeAll(fd, toBytes(data), tmp);
  } finally {
    qos.close(fd);
  }
  // Publish complete content only: link-like semantics through "rename if absent".
  if (stat(path) !== null) {
    qos.remove(tmp);
    return false;
  }
  const r = qos.rename(tmp, path);
  if (r < 0) {
    qos.remove(tmp);
    throw new SysError(`cannot create ${path}`, -r);
  }
  return true;
}

/**
 * One write(2) of `text` to an existing file (no create, append): the unit a
 * /proc control file applies atomically. Throws SysError with the errno the
 * kernel returned.
 */
export function writeOnce(path: string, text: string): void {
  const fd = qos.open(path, qos.O_WRONLY | qos.O_APPEND);
  if (fd < 0) throw new SysError(`cannot open ${path}`, -fd);
  try {
    const bytes = toBytes(text);
    const n = qos.write(fd, bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.length);
    if (n < 0) throw new SysError(`${path} rejected the write`, -n);
    if (n !== bytes.length) throw new SysError(`${path}: short write (${n} of ${bytes.length})`);
  } finally {
    qos.close(fd);
  }
}

// ---------------------------------------------------------------------------------------------
// processes

/** Absolute path of an executable found in $PATH (or the path itself when it contains '/'). */
export function which(name: string): string | null {
  if (name.includes('/')) return isFile(name) ? name : null;
  for (const dir of (getenv('PATH') ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    if (!dir) continue;
    const p = `${dir}/${name}`;
    const st = stat(p);
    if (st && (st.mode & qos.S_IFMT) === qos.S_IFREG && (st.mode & 0o111) !== 0) return p;
  }
  return null;
}

export interface SpawnResult {
  /** Exit status, or -1 when killed by a signal. */
  readonly code: number;
  readonly signal: number;
  readonly stdout: Uint8Array;
  readonly stderr: string;
  /** The process was killed by us: timeout or output too large. */
  readonly killed: 'timeout' | 'too-large' | null;
}

export interface SpawnOptions {
  readonly timeoutMs: number;
  readonly maxStdout: number;
  readonly maxStderr?: number;
  /** File for stdin; /dev/null when absent. */
  readonly stdinFile?: string;
}

/**
 * Runs argv[0] (looked up in $PATH) with stdout and stderr on pipes read by
 * the event loop. Output beyond the limits, or running past the timeout,
 * kills the process with SIGKILL.
 */
export function spawn(argv: string[], o: SpawnOptions): Promise<SpawnResult> {
  return new Promise((resolve, rejectNow) => {
    // Rejected a microtask later, when the caller's await already holds the promise: qjs
    // exits on a promise rejected while nothing handles it (see httpPost).
    const reject = (e: unknown): void => void Promise.resolve().then(() => rejectNow(e));
    const out = qos.pipe();
    const err = qos.pipe();
    if (!out || !err) {
      reject(new SysError('pipe() failed'));
      return;
    }
    const stdin = qos.open(o.stdinFile ?? '/dev/null', qos.O_RDONLY);
    if (stdin < 0) {
      for (const fd of [...out, ...err]) qos.close(fd);
      reject(new SysError(`cannot open ${o.stdinFile ?? '/dev/null'}`, -stdin));
      return;
    }
    let child: number;
    try {
      child = qos.exec(argv, { block: false, usePath: true, stdin, stdout: out[1], stderr: err[1] });
    } catch (e) {
      for (const fd of [out[0], err[0]]) qos.close(fd);
      reject(e);
      return;
    } finally {
      qos.close(stdin);
      qos.close(out[1]);
      qos.close(err[1]);
    }
    const maxErr = o.maxStderr ?? 16384;
    const chunks: Uint8Array[] = [];
    let outLen = 0;
    let errText = '';
    let open = 2;
    let killed: SpawnResult['killed'] = null;
    const kill = (why: 'timeout' | 'too-large'): void => {
      if (killed === null) killed = why;
      qos.kill(child, SIGKILL);
    };
    const watchdog = setTimer(() => kill('timeout'), o.timeoutMs);
    const buf = new Uint8Array(16384);
    const finish = (): void => {
      // Both pipes are closed: the child has exited or is about to; reap without blocking the loop.
      const reap = (): void => {
        const [r, status] = qos.waitpid(child, qos.WNOHANG);
        if (r === 0) {
          setTimer(reap, 5);
          return;
        }
        clearTimer(watchdog);
        const sig = status & 0x7f;
        const stdoutBytes = new Uint8Array(outLen);
        let off = 0;
        for (const c of chunks) {
          stdoutBytes.set(c, off);
          off += c.length;
        }
        resolve({ code: sig ? -1 : (status >> 8) & 0xff, signal: sig, stdout: stdoutBytes, stderr: errText, killed });
      };
      reap();
    };
    const reader = (fd: number, onData: (b: Uint8Array) => void) => () => {
      const n = qos.read(fd, buf.buffer as ArrayBuffer, 0, buf.length);
      if (n > 0) {
        onData(buf.slice(0, n));
        return;
      }
      qos.setReadHandler(fd, null);
      qos.close(fd);
      if (--open === 0) finish();
    };
    qos.setReadHandler(
      out[0],
      reader(out[0], (b) => {
        if (killed) return;
        outLen += b.length;
        if (outLen > o.maxStdout) {
          kill('too-large');
          return;
        }
        chunks.push(b);
      }),
    );
    qos.setReadHandler(
      err[0],
      reader(err[0], (b) => {
        if (errText.length < maxErr) errText += String.fromCharCode(...b).slice(0, maxErr - errText.length);
      }),
    );
  });
}
