/// <reference types="node" />
// The checked-in vector files are what the generators produce now, the
// checkers accept them, and the checkers reject corrupted copies.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../build/repo-root.js';
import { buildOptionVectors, checkOptionVectors } from '../core/src/vectors/options.js';
import { buildKeyVectors, checkKeyVectors } from '../core/src/vectors/keys.js';

type Json = Record<string, unknown>;
type Entry = Record<string, unknown>;

function readText(name: string): string {
  return readFileSync(join(repoRoot(), 'test', 'vectors', name), 'utf8');
}

const OPTIONS_TEXT = readText('pdmv2-options.json');
const KEYS_TEXT = readText('pdmv2-keys.json');

/** A fresh deep copy of a vector file, to corrupt. */
const optionsCopy = (): Json => JSON.parse(OPTIONS_TEXT) as Json;
const keysCopy = (): Json => JSON.parse(KEYS_TEXT) as Json;

/** Flip one hex digit (0↔1, a↔b, …) at position `index` of a hex string. */
function flipHexDigit(hex: string, index: number): string {
  const d = parseInt(hex[index]!, 16) ^ 1;
  return hex.slice(0, index) + d.toString(16) + hex.slice(index + 1);
}

function entries(file: Json, section: string): Entry[] {
  const v = file[section];
  assert.ok(Array.isArray(v), `section ${section}`);
  return v as Entry[];
}

function firstFailure(report: { failures: string[] }): string {
  return report.failures[0] ?? '(none)';
}

// ---------------------------------------------------------------- regeneration

test('pdmv2-options.json is exactly what buildOptionVectors() generates (npm run vectors format)', () => {
  const text = `${JSON.stringify(buildOptionVectors(), null, 2)}\n`;
  if (text !== OPTIONS_TEXT) {
    const a = text.split('\n');
    const b = OPTIONS_TEXT.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.unreachable(`test/vectors/pdmv2-options.json is stale from line ${line + 1}: generated '${a[line]}', file '${b[line]}'`);
  }
});

test('pdmv2-keys.json is exactly what buildKeyVectors() generates (npm run vectors format)', () => {
  const text = `${JSON.stringify(buildKeyVectors(), null, 2)}\n`;
  if (text !== KEYS_TEXT) {
    const a = text.split('\n');
    const b = KEYS_TEXT.split('\n');
    const line = a.findIndex((l, i) => l !== b[i]);
    assert.unreachable(`test/vectors/pdmv2-keys.json is stale from line ${line + 1}: generated '${a[line]}', file '${b[line]}'`);
  }
});

test('generation is deterministic (two builds stringify identically)', () => {
  assert.is(JSON.stringify(buildOptionVectors()), JSON.stringify(buildOptionVectors()));
  assert.is(JSON.stringify(buildKeyVectors()), JSON.stringify(buildKeyVectors()));
});

test('vector files have every section of PROTOCOL.md §6, non-empty', () => {
  const o = optionsCopy();
  for (const s of ['options', 'malformed', 'time', 'headers', 'packets', 'encrypted', 'encrypted_failures']) assert.ok(entries(o, s).length > 0, s);
  const k = keysCopy();
  for (const s of ['pairing', 'generations', 'client_secrets', 'host_secrets', 'flows', 'errors']) assert.ok(entries(k, s).length > 0, s);
  assert.is(typeof k.pms, 'string');
  assert.ok(k.longest_prefix_match && typeof k.longest_prefix_match === 'object');
  // Every malformed error is one of §1.6, every format one of §1.
  for (const e of entries(o, 'malformed')) assert.ok(['TRUNCATED', 'TRAILING_DATA', 'NOT_PDM', 'BAD_LENGTH', 'BAD_VERSION', 'RESERVED_NONZERO'].includes(e.error as string), String(e.error));
  for (const e of entries(o, 'options')) assert.ok(['pdm-v1', 'pdmv2-clear', 'pdmv2-draft-clear', 'pdmv2-encrypted'].includes(e.format as string));
  // Every error code of §1.6 appears among the malformed vectors.
  const codes = new Set(entries(o, 'malformed').map((e) => e.error));
  for (const c of ['TRUNCATED', 'TRAILING_DATA', 'NOT_PDM', 'BAD_LENGTH', 'BAD_VERSION', 'RESERVED_NONZERO']) assert.ok(codes.has(c), `malformed vectors cover ${c}`);
  // All four formats appear.
  const formats = new Set(entries(o, 'options').map((e) => e.format));
  assert.is(formats.size, 4);
});

// ---------------------------------------------------------------- checkers accept the files

test('checkOptionVectors: 0 failed, more than 50 passed', () => {
  const r = checkOptionVectors(optionsCopy());
  assert.is(r.failed, 0, firstFailure(r));
  assert.equal(r.failures, []);
  assert.ok(r.passed > 50, `passed ${r.passed}`);
  const total = ['options', 'malformed', 'time', 'headers', 'packets', 'encrypted', 'encrypted_failures'].reduce((n, s) => n + entries(optionsCopy(), s).length, 0);
  assert.is(r.passed, total, 'one check per vector');
});

test('checkKeyVectors: 0 failed, more than 10 passed', () => {
  const r = checkKeyVectors(keysCopy());
  assert.is(r.failed, 0, firstFailure(r));
  assert.ok(r.passed > 10, `passed ${r.passed}`);
});

test('both checkers together: 0 failed, more than 50 passed', () => {
  const a = checkOptionVectors(optionsCopy());
  const b = checkKeyVectors(keysCopy());
  assert.is(a.failed + b.failed, 0);
  assert.ok(a.passed + b.passed > 50, `passed ${a.passed + b.passed}`);
});

// ---------------------------------------------------------------- checkers can fail

function expectOptionFailure(mutate: (f: Json) => void, what: string, expectedFailures = 1): void {
  const f = optionsCopy();
  mutate(f);
  const r = checkOptionVectors(f);
  assert.is(r.failed, expectedFailures, `${what}: ${r.failed} failures (${r.failures.join('; ')})`);
  assert.is(r.failures.length, r.failed);
}

function expectKeyFailure(mutate: (f: Json) => void, what: string): void {
  const f = keysCopy();
  mutate(f);
  const r = checkKeyVectors(f);
  assert.ok(r.failed >= 1, `${what}: no failure reported`);
}

test('corrupted options: one flipped hex digit in each option vector is detected', () => {
  const n = entries(optionsCopy(), 'options').length;
  for (let i = 0; i < n; i++) {
    const e0 = entries(optionsCopy(), 'options')[i]!;
    const hexLen = (e0.option as string).length;
    // The type octet, the length, a version/field octet and the last octet. For the
    // encrypted form the checker decodes only the clear part (PROTOCOL.md §6: no
    // re-encoding of encrypted options); its ciphertext and tag are checked in the
    // `encrypted` section and by the regeneration test below.
    const positions = e0.format === 'pdmv2-encrypted' ? [0, 3, 9, 15] : [0, 3, 9, hexLen - 1];
    for (const pos of positions) {
      expectOptionFailure((f) => {
        const e = entries(f, 'options')[i]!;
        e.option = flipHexDigit(e.option as string, pos);
      }, `option ${i} digit ${pos}`);
    }
  }
});

test('encrypted entries of `options`: a flipped ciphertext digit is caught by the regeneration compare', () => {
  const f = optionsCopy();
  const e = entries(f, 'options').find((x) => x.format === 'pdmv2-encrypted')!;
  e.option = flipHexDigit(e.option as string, 40);
  // (checkOptionVectors itself only decodes the clear part of these entries, PROTOCOL.md §6.)
  assert.is.not(`${JSON.stringify(f, null, 2)}\n`, `${JSON.stringify(buildOptionVectors(), null, 2)}\n`);
});

test('corrupted options: a changed field value, a changed format', () => {
  expectOptionFailure((f) => {
    const fields = entries(f, 'options')[1]!.fields as Entry;
    fields.psntp = (fields.psntp as number) + 1;
  }, 'fields.psntp + 1');
  expectOptionFailure((f) => {
    entries(f, 'options')[0]!.format = 'pdm-v1';
  }, 'format');
});

test('corrupted malformed vectors: a changed expected error, a well-formed option, strict flag', () => {
  const malformed = entries(optionsCopy(), 'malformed');
  for (let i = 0; i < malformed.length; i++) {
    expectOptionFailure((f) => {
      const e = entries(f, 'malformed')[i]!;
      e.error = e.error === 'TRUNCATED' ? 'BAD_LENGTH' : 'TRUNCATED';
    }, `malformed ${i} error changed`);
  }
  expectOptionFailure((f) => {
    entries(f, 'malformed')[0]!.option = entries(f, 'options')[0]!.option;
  }, 'a valid option in malformed');
  const reservedIndex = malformed.findIndex((e) => e.error === 'RESERVED_NONZERO');
  assert.ok(reservedIndex >= 0);
  expectOptionFailure((f) => {
    entries(f, 'malformed')[reservedIndex]!.strict = false;
  }, 'reserved bits in lenient mode');
});

test('corrupted time, header, packet and encrypted vectors are detected', () => {
  expectOptionFailure((f) => {
    const e = entries(f, 'time')[5]!;
    e.delta = (e.delta as number) + 1;
  }, 'time delta');
  expectOptionFailure((f) => {
    const e = entries(f, 'time')[5]!;
    e.decoded_attoseconds = (BigInt(e.decoded_attoseconds as string) + 1n).toString();
  }, 'time decoded');
  expectOptionFailure((f) => {
    const e = entries(f, 'headers')[0]!;
    e.result = flipHexDigit(e.result as string, 10);
  }, 'header result');
  expectOptionFailure((f) => {
    const e = entries(f, 'packets')[0]!;
    e.result = flipHexDigit(e.result as string, 9); // payload length
  }, 'packet payload length');
  expectOptionFailure((f) => {
    const e = entries(f, 'packets').find((x) => x.error !== undefined)!;
    e.error = 'TRUNCATED';
  }, 'packet error');
  expectOptionFailure((f) => {
    const e = entries(f, 'packets').find((x) => x.error !== undefined)!;
    delete e.error;
    e.result = e.packet;
  }, 'refused packet claimed to succeed');
  expectOptionFailure((f) => {
    const e = entries(f, 'encrypted')[0]!;
    e.tag = flipHexDigit(e.tag as string, 0);
  }, 'encrypted tag');
  expectOptionFailure((f) => {
    const e = entries(f, 'encrypted')[0]!;
    e.option = flipHexDigit(e.option as string, 40);
  }, 'encrypted ciphertext');
  expectOptionFailure((f) => {
    const e = entries(f, 'encrypted')[0]!;
    e.key = flipHexDigit(e.key as string, 0);
  }, 'encrypted key');
  expectOptionFailure((f) => {
    const e = entries(f, 'encrypted')[0]!;
    e.nonce = flipHexDigit(e.nonce as string, 23);
  }, 'encrypted nonce');
  expectOptionFailure((f) => {
    const e = entries(f, 'encrypted_failures')[0]!;
    e.option = entries(f, 'encrypted')[0]!.option;
  }, 'encrypted failure that opens');
  expectOptionFailure((f) => {
    entries(f, 'encrypted_failures')[0]!.error = 'BAD_VERSION';
  }, 'encrypted failure code');
});

test('corrupted keys: flipped hex digits and changed codes are detected', () => {
  expectKeyFailure((f) => {
    const sgs = entries(f, 'generations')[0]!.sgs as Entry;
    sgs.okm = flipHexDigit(sgs.okm as string, 5);
  }, 'sgs okm');
  expectKeyFailure((f) => {
    const sgs = entries(f, 'generations')[1]!.sgs as Entry;
    sgs.info = flipHexDigit(sgs.info as string, 0);
  }, 'sgs info (label)');
  expectKeyFailure((f) => {
    const cs = entries(f, 'client_secrets')[0]!;
    cs.context = flipHexDigit(cs.context as string, 31);
  }, 'cs context');
  expectKeyFailure((f) => {
    const hs = entries(f, 'host_secrets')[0]!.hs as Entry;
    hs.prk = flipHexDigit(hs.prk as string, 63);
  }, 'hs prk');
  for (let i = 0; i < entries(keysCopy(), 'flows').length; i++) {
    expectKeyFailure((f) => {
      const stk = entries(f, 'flows')[i]!.stk as Entry;
      stk.okm = flipHexDigit(stk.okm as string, 0);
    }, `flow ${i} stk`);
  }
  expectKeyFailure((f) => {
    entries(f, 'flows')[0]!.epoch = 0x101;
  }, 'flow epoch');
  expectKeyFailure((f) => {
    const lpm = f.longest_prefix_match as Entry;
    (lpm.lookups as Entry[])[0]!.match = '2001:db8:1::/48';
  }, 'longest prefix match');
  for (let i = 0; i < entries(keysCopy(), 'errors').length; i++) {
    expectKeyFailure((f) => {
      const e = entries(f, 'errors')[i]!;
      e.error = e.error === 'BAD_PREFIX' ? 'BAD_AEAD' : 'BAD_PREFIX';
    }, `error ${i} code`);
  }
  expectKeyFailure((f) => {
    entries(f, 'errors')[0]!.name = 'no such case';
  }, 'unknown error case');
  expectKeyFailure((f) => {
    f.pms = flipHexDigit(f.pms as string, 0);
  }, 'pms');
  expectKeyFailure((f) => {
    const p = entries(f, 'pairing')[0]!;
    p.pms = flipHexDigit(p.pms as string, 0);
  }, 'pairing pms');
});

test('a corrupted copy does not affect the original: checking again still passes', () => {
  const f = optionsCopy();
  entries(f, 'options')[0]!.option = '00';
  assert.ok(checkOptionVectors(f).failed > 0);
  assert.is(checkOptionVectors(optionsCopy()).failed, 0);
});

test.run();
