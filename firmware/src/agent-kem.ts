// DHKEM(X25519, HKDF-SHA256) for the agent, with every X25519 operation on
// the Montgomery ladder. @noble/curves computes X25519 public keys through
// cached Edwards base-point tables; on QuickJS the first use of those tables
// costs about 2.6 MB of RSS for the life of the process, more than the rest
// of the agent together. The ladder is a little slower (a few ms per key on
// qjs), which the agent does not notice. The KEM around it is the core's
// (core/src/hpke/dhkem-x25519.ts), so the output is the core KEM's, byte for
// byte (checked in test/enroll-codec.test.ts and test/qjs/agent-check.ts).
import { montgomery } from '@noble/curves/abstract/montgomery.js';
import { pow } from '@noble/curves/abstract/modular.js';
import type { RandomBytes } from '../../core/src/util/bytes.js';
import { suitesWithKem, type SuiteProvider } from '../../core/src/enroll/seal.js';
import { dhkemX25519With, type X25519Private } from '../../core/src/hpke/dhkem-x25519.js';
import type { Kem } from '../../core/src/hpke/hpke.js';

const P = 2n ** 255n - 19n;

const ladder = montgomery({
  P,
  type: 'x25519',
  powPminus2: (x: bigint) => pow(x, P - 2n, P),
  adjustScalarBytes: (b: Uint8Array) => {
    b[0]! &= 248;
    b[31]! &= 127;
    b[31]! |= 64;
    return b;
  },
});

const BASE_U = Uint8Array.of(9, ...new Uint8Array(31));

function privateKey(sk: Uint8Array): X25519Private<Uint8Array> {
  return { key: sk, publicKey: ladder.scalarMult(sk, BASE_U) };
}

export const agentKem: Kem = dhkemX25519With<Uint8Array>(
  {
    importPrivate: privateKey,
    generateEphemeral: (random: RandomBytes) => privateKey(Uint8Array.from(random(32))),
    dh: (sk, pk) => ladder.scalarMult(sk, pk),
  },
  'ladder',
);

export const agentSuites: SuiteProvider = suitesWithKem(agentKem);
