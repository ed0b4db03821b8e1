// The protocol core as the agent will carry it: codec, key schedule, sealing
// and HPKE. Bundled alone (npm run build) to measure the agent's crypto/codec
// footprint against its size budget before the daemon exists.
import './polyfills.js';

export * from '../../core/src/wire/options.js';
export * from '../../core/src/time/delta.js';
export * from '../../core/src/keys/schedule.js';
export * from '../../core/src/keys/seal.js';
export * from '../../core/src/wire/addr.js';
export * from '../../core/src/pairing/secret.js';
export { createSuite, setupSender, setupRecipient, Mode, KemId, KdfId, AeadId, HpkeError } from '../../core/src/hpke/hpke.js';
