// Runtime-independent self-check used by the QuickJS bundle (and by a Node test
// so both engines are held to the same checks). Pure: inputs come as text.
import type { RandomBytes } from '../core/src/util/bytes.js';
import { toHex } from '../core/src/util/bytes.js';
import { checkHpkeVectors } from '../core/src/hpke/known-answers.js';
import { AeadId, createSuite, KdfId, KemId, Mode, setupRecipient, setupSender } from '../core/src/hpke/hpke.js';
import { insertPdmOption, findPdmOption } from '../core/src/wire/ipv6.js';
import { AEAD_AES_128_GCM, AEAD_AES_256_GCM } from '../core/src/keys/schedule.js';
import { decodeOption, encodeClear } from '../core/src/wire/options.js';
import { openOption, sealOption } from '../core/src/keys/seal.js';
import { decodeAttoseconds, encodeAttoseconds, encodingErrorBound } from '../core/src/time/delta.js';
import { buildOptionVectors, checkOptionVectors } from '../core/src/vectors/options.js';
import { buildKeyVectors, checkKeyVectors } from '../core/src/vectors/keys.js';
import { newReport, expectEqual, type CheckReport } from '../core/src/vectors/check-report.js';

export interface SelfCheckInput {
  rfc9180: Array<{ path: string; text: string }>;
  options: string | null;
  keys: string | null;
  random: RandomBytes;
  log: (line: string) => void;
}

function merge(into: CheckReport, from: { passed: number; failed: number; failures: string[] }, prefix: string): void {
  into.passed += from.passed;
  into.failed += from.failed;
  for (const f of from.failures) into.failures.push(`${prefix}: ${f}`);
}

function randomInt(random: RandomBytes, bits: number): number {
  const b = random(4);
  const v = ((b[0]! << 24) | (b[1]! << 16) | (b[2]! << 8) | b[3]!) >>> 0;
  return bits >= 32 ? v : v & ((1 << bits) - 1);
}

export function runSelfCheck(input: SelfCheckInput): CheckReport {
  const report = newReport();

  for (const f of input.rfc9180) {
    const r = checkHpkeVectors(JSON.parse(f.text) as unknown[]);
    input.log(`rfc9180 ${f.path}: ${r.passed} passed, ${r.failed} failed`);
    merge(report, r, f.path);
  }

  if (input.options !== null) {
    const parsed: unknown = JSON.parse(input.options);
    const r = checkOptionVectors(parsed);
    input.log(`pdmv2-options: ${r.passed} passed, ${r.failed} failed`);
    merge(report, r, 'pdmv2-options');
    report.run('pdmv2-options regenerates byte for byte', () =>
      expectEqual(JSON.stringify(buildOptionVectors()), JSON.stringify(parsed), 'regenerated file'),
    );
  }

  if (input.keys !== null) {
    const parsed: unknown = JSON.parse(input.keys);
    const r = checkKeyVectors(parsed);
    input.log(`pdmv2-keys: ${r.passed} passed, ${r.failed} failed`);
    merge(report, r, 'pdmv2-keys');
    report.run('pdmv2-keys regenerates byte for byte', () =>
      expectEqual(JSON.stringify(buildKeyVectors()), JSON.stringify(parsed), 'regenerated file'),
    );
  }

  for (const aead of [AeadId.Aes128Gcm, AeadId.Aes256Gcm, AeadId.ChaCha20Poly1305]) {
    report.run(`hpke auth round trip, aead ${aead}`, () => {
      const suite = createSuite(KemId.DhkemX25519HkdfSha256, KdfId.HkdfSha256, aead);
      const sender = suite.kem.generateKeyPair(input.random);
      const recipient = suite.kem.generateKeyPair(input.random);
      const info = input.random(16);
      const { enc, context } = setupSender(suite, { mode: Mode.Auth, pkR: recipient.publicKey, skS: sender.privateKey, info, ephemeral: input.random });
      const opener = setupRecipient(suite, { mode: Mode.Auth, enc, skR: recipient.privateKey, pkS: sender.publicKey, info });
      for (let i = 0; i < 3; i++) {
        const pt = input.random(1 + i * 100);
        const aad = input.random(i);
        expectEqual(toHex(opener.open(aad, context.seal(aad, pt))), toHex(pt), `message ${i}`);
      }
    });
  }

  report.run('option seal/open round trips with random fields and keys', () => {
    for (let i = 0; i < 40; i++) {
      const aead = i % 2 === 0 ? AEAD_AES_128_GCM : AEAD_AES_256_GCM;
      const key = input.random(aead === AEAD_AES_128_GCM ? 16 : 32);
      const fields = {
        epoch: randomInt(input.random, 12),
        psntp: randomInt(input.random, 32),
        psnlr: randomInt(input.random, 32),
        globalPointer: randomInt(input.random, 32),
        scaleDtlr: randomInt(input.random, 8),
        scaleDtls: randomInt(input.random, 8),
        deltaTlr: randomInt(input.random, 16),
        deltaTls: randomInt(input.random, 16),
      };
      const opened = openOption(key, aead, sealOption(key, aead, fields));
      if (!opened.ok) throw new Error(`open failed: ${opened.error}`);
      expectEqual(JSON.stringify(opened.value), JSON.stringify({ format: 'pdmv2-clear', ...fields }), 'fields');
      const clear = decodeOption(encodeClear(fields));
      if (!clear.ok) throw new Error(`clear decode failed: ${clear.error}`);
      expectEqual(JSON.stringify(clear.value), JSON.stringify({ format: 'pdmv2-clear', ...fields }), 'clear fields');
    }
  });

  report.run('time encoding stays within its error bound for random durations', () => {
    for (let i = 0; i < 200; i++) {
      const bits = 1 + (randomInt(input.random, 7) % 100);
      let as = 0n;
      for (let b = 0; b < bits; b += 16) as = (as << 16n) | BigInt(randomInt(input.random, 16));
      const e = encodeAttoseconds(as);
      const err = decodeAttoseconds(e) - as;
      if ((err < 0n ? -err : err) > encodingErrorBound(e)) throw new Error(`error too large for ${as}`);
    }
  });

  report.run('insert then find a PDM option in a UDP packet', () => {
    const packet = new Uint8Array(48);
    packet[0] = 0x60;
    packet[5] = 8;
    packet[6] = 17;
    const option = encodeClear({ epoch: 1, psntp: 2, psnlr: 3, globalPointer: 4, scaleDtlr: 5, scaleDtls: 6, deltaTlr: 7, deltaTls: 8 });
    const inserted = insertPdmOption(packet, option);
    if (!inserted.ok) throw new Error(inserted.error);
    const found = findPdmOption(inserted.value);
    if (!found.ok || !found.value) throw new Error('option not found');
    expectEqual(toHex(found.value), toHex(option), 'option bytes');
  });

  return report;
}
