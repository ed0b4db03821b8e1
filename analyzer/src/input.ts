/**
 * Capture input for the command line: a file or standard input ("-"), gzip
 * recognised by its magic number and decompressed on the fly, read in large
 * chunks so memory stays flat however big the capture is.
 */
import { closeSync, createReadStream, openSync, readSync } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { CaptureFormatError, CaptureParser, type PacketSink } from './capture-format.js';

const CHUNK = 4 * 1024 * 1024;

export interface StreamResult {
  format: string;
  baseNs: bigint | null;
  packets: number;
  /** Why reading stopped early; the packets before it were delivered. */
  error: string | null;
}

export class InputError extends Error {}

async function* rawChunks(path: string): AsyncGenerator<Uint8Array> {
  const stream = path === '-' ? process.stdin : createReadStream(path, { highWaterMark: CHUNK });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    throw new InputError(`cannot read: ${(err as Error).message}`);
  }
}

/** The file's octets, decompressed when it starts with gzip's magic number. */
async function* chunks(path: string, gzip: { on: boolean }): AsyncGenerator<Uint8Array> {
  const raw = rawChunks(path);
  const first = await raw.next();
  if (first.done) return;
  const head = first.value;
  if (!(head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b)) {
    yield head;
    yield* raw;
    return;
  }
  gzip.on = true;
  const gunzip = createGunzip({ chunkSize: 1024 * 1024 });
  const feed = (async () => {
    try {
      for (let c: IteratorResult<Uint8Array> = first; !c.done; c = await raw.next()) {
        if (!gunzip.write(c.value)) await new Promise((resolve) => gunzip.once('drain', resolve));
      }
      gunzip.end();
    } catch (err) {
      gunzip.destroy(err as Error);
    }
  })();
  try {
    for await (const chunk of gunzip) yield chunk as Buffer;
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError(`gzip: ${(err as Error).message}`);
  }
  await feed;
}

/**
 * Streams a capture into `sink`. Damage inside the capture (or the gzip
 * stream) ends the reading with `error` set; an unreadable file throws InputError.
 */
export async function streamCapture(path: string, sink: PacketSink): Promise<StreamResult> {
  const parser = new CaptureParser(sink);
  if (path !== '-') {
    const direct = readFileDirect(path, parser);
    if (direct !== null) return direct;
  }
  const gzip = { on: false };
  let error: string | null = null;
  let decompressed = 0;
  try {
    for await (const chunk of chunks(path, gzip)) {
      decompressed += chunk.length;
      parser.push(chunk);
    }
    parser.finish();
  } catch (err) {
    if (err instanceof CaptureFormatError) error = err.message;
    else if (err instanceof InputError && gzip.on && err.message.startsWith('gzip:')) {
      error = `${err.message} after ${decompressed} decompressed octets (${parser.packets} packets read)`;
    } else throw err;
  }
  const format = `${parser.kind ?? 'unknown'}${gzip.on ? '.gz' : ''}`;
  return { format, baseNs: parser.baseNs, packets: parser.packets, error };
}

/**
 * An uncompressed file read straight into the parser's buffer (no copy, no
 * allocation per read: the fast path for big captures); null for gzip,
 * which goes through the stream path.
 */
function readFileDirect(path: string, parser: CaptureParser): StreamResult | null {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    throw new InputError(`cannot read: ${(err as Error).message}`);
  }
  let error: string | null = null;
  try {
    const magic = new Uint8Array(2);
    if (readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b) return null;
    let position = 0;
    for (;;) {
      const n = parser.fill((into) => readSync(fd, into, 0, into.length, position));
      if (n === 0) break;
      position += n;
    }
    parser.finish();
  } catch (err) {
    if (err instanceof CaptureFormatError) error = err.message;
    else if (err instanceof InputError) throw err;
    else throw new InputError(`cannot read: ${(err as Error).message}`);
  } finally {
    closeSync(fd);
  }
  return { format: parser.kind ?? 'unknown', baseNs: parser.baseNs, packets: parser.packets, error };
}

/** The whole (decompressed) file in memory, for the per-packet tools. */
export async function readWholeCapture(path: string): Promise<{ bytes: Uint8Array; gzip: boolean }> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const gzip = { on: false };
  for await (const c of chunks(path, gzip)) {
    // Stream chunks may share a pooled buffer: keep copies.
    parts.push(Uint8Array.from(c));
    total += c.length;
  }
  const bytes = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    bytes.set(p, at);
    at += p.length;
  }
  return { bytes, gzip: gzip.on };
}
