// Benchmark body shared by the Node and QuickJS entries: each runtime supplies
// its clock and randomness. Reports the mean time per operation.
import { x25519 } from '@noble/curves/ed25519.js';
import type { RandomBytes } from '../../core/src/util/bytes.js';
import { AeadId, createSuite, KdfId, KemId, Mode, setupRecipient, setupSender } from '../../core/src/hpke/hpke.js';
import { AEAD_AES_128_GCM, sessionTemporaryKey } from '../../core/src/keys/schedule.js';
import { sealOption } from '../../core/src/keys/seal.js';

export interface BenchResult {
  name: string;
  unit: 'ms' | 'us';
  value: number;
  iterations: number;
}

/** Runs `op` until `budgetMs` has passed (at least `minIterations` times); mean per call. */
function measure(name: string, unit: 'ms' | 'us', now: () => number, budgetMs: number, op: () => void, minIterations = 5): BenchResult {
  op(); // warm-up: JIT (Node) and lazy tables (noble's precomputes)
  let iterations = 0;
  const start = now();
  let elapsed = 0;
  while (iterations < minIterations || elapsed < budgetMs) {
    op();
    iterations++;
    elapsed = now() - start;
  }
  const perCallMs = elapsed / iterations;
  return { name, unit, value: unit === 'ms' ? perCallMs : perCallMs * 1000, iterations };
}

export function runCoreBench(now: () => number, random: RandomBytes, budgetMs = 600): BenchResult[] {
  const suite = createSuite(KemId.DhkemX25519HkdfSha256, KdfId.HkdfSha256, AeadId.Aes128Gcm);
  const sender = suite.kem.generateKeyPair(random);
  const recipient = suite.kem.generateKeyPair(random);
  const message = random(256);
  const aad = new Uint8Array(0);
  const info = random(16);
  const hs = random(32);
  const stk = random(16);
  const tuple = { src: random(16), dst: random(16), sport: 40000, dport: 443, protocol: 6 };
  const fields = { epoch: 0x101, psntp: 12345, psnlr: 678, globalPointer: 9, scaleDtlr: 24, scaleDtls: 30, deltaTlr: 100, deltaTls: 200 };
  let sink = 0;

  return [
    measure('x25519_shared_secret', 'ms', now, budgetMs, () => {
      sink ^= x25519.getSharedSecret(sender.privateKey, recipient.publicKey)[0]!;
    }),
    measure('hpke_auth_seal_open_256B', 'ms', now, budgetMs, () => {
      const { enc, context } = setupSender(suite, { mode: Mode.Auth, pkR: recipient.publicKey, skS: sender.privateKey, info, ephemeral: random });
      const ct = context.seal(aad, message);
      const r = setupRecipient(suite, { mode: Mode.Auth, enc, skR: recipient.privateKey, pkS: sender.publicKey, info });
      sink ^= r.open(aad, ct)[0]!;
    }),
    measure('stk_derivation', 'us', now, budgetMs, () => {
      tuple.sport = (tuple.sport + 1) & 0xffff;
      sink ^= sessionTemporaryKey(hs, AEAD_AES_128_GCM, 0x101, tuple)[0]!;
    }),
    measure('option_seal', 'us', now, budgetMs, () => {
      fields.psntp = (fields.psntp + 1) >>> 0;
      sink ^= sealOption(stk, AEAD_AES_128_GCM, fields)[8]!;
    }),
  ].map((r) => {
    // Keep `sink` observable so no engine can drop the measured work.
    if (sink < 0) throw new Error('unreachable');
    return r;
  });
}
