// The QuickJS side of the runtime interface: files, output, exit and randomness
// for code bundled to run under `qjs --std -m`. Polyfills must already be installed.
import * as std from 'std';

interface QjsStd {
  loadFile(path: string): string | null;
  exit(code: number): never;
  out: { puts(s: string): void; flush(): void };
  err: { puts(s: string): void; flush(): void };
}

const qstd = std as QjsStd;

export function readTextFile(path: string): string {
  const text = qstd.loadFile(path);
  if (text === null) throw new Error(`cannot read ${path}`);
  return text;
}

export function print(line: string): void {
  qstd.out.puts(`${line}\n`);
}

export function printError(line: string): void {
  qstd.err.puts(`${line}\n`);
}

export function exit(code: number): never {
  qstd.out.flush();
  qstd.err.flush();
  return qstd.exit(code);
}

interface WebCryptoRandom {
  crypto: { getRandomValues(a: Uint8Array): Uint8Array };
}

export function randomBytes(length: number): Uint8Array {
  const { crypto } = globalThis as unknown as WebCryptoRandom;
  const out = new Uint8Array(length);
  for (let off = 0; off < length; off += 65536) crypto.getRandomValues(out.subarray(off, Math.min(length, off + 65536)));
  return out;
}

/** Arguments after the script name (QuickJS's global `scriptArgs`). */
export function scriptArguments(): string[] {
  const g = globalThis as unknown as { scriptArgs?: string[] };
  return (g.scriptArgs ?? []).slice(1);
}
