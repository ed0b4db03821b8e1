// The QuickJS self-check's body run on Node too, so both engines pass the same checks;
// and proof that the self-check can fail (a corrupted vector file must be reported).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../build/repo-root.js';
import { runSelfCheck } from './selfcheck-core.js';

const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
const read = (...p: string[]): string => readFileSync(join(...p), 'utf8');

function inputs(overrides: { options?: string } = {}) {
  return {
    rfc9180: [{ path: 'rfc9180', text: read(repoRoot(), 'test', 'vectors', 'rfc9180-x25519-sha256.json') }],
    options: overrides.options ?? read(repoRoot(), 'test', 'vectors', 'pdmv2-options.json'),
    keys: read(repoRoot(), 'test', 'vectors', 'pdmv2-keys.json'),
    random,
    log: () => {},
  };
}

test('self-check passes on Node with every vector file', () => {
  const r = runSelfCheck(inputs());
  assert.equal(r.failures, []);
  assert.ok(r.passed > 100, `only ${r.passed} checks ran`);
});

test('self-check reports a corrupted options file', () => {
  const text = read(repoRoot(), 'test', 'vectors', 'pdmv2-options.json').replace('"delta": 61035', '"delta": 61036');
  const r = runSelfCheck(inputs({ options: text }));
  assert.ok(r.failed >= 2, 'both the semantic check and the regeneration check must fail');
  assert.ok(r.failures.some((f) => f.includes('time: 1 ns')));
});

test.run();
