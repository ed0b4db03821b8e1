/**
 * How a pairing's HPKE context becomes the Pair Master Secret
 * (docs/PROTOCOL.md §5.2). The pairing messages themselves live with the
 * enrollment protocol; this is the part the key schedule depends on.
 */
import { ascii, concat, u8, u16 } from '../util/bytes.js';
import { pmsExporterContext, SECRET_LEN } from '../keys/schedule.js';
import type { SenderContext, RecipientContext, Suite } from '../hpke/hpke.js';

export const LABEL_PAIRING_INFO = 'pdmv2 v1 pairing';

/** HPKE info for pairing: binds the suite both sides agreed on. */
export function pairingInfo(suite: Suite): Uint8Array {
  return concat(ascii(LABEL_PAIRING_INFO), u8(0), u16(suite.kem.id), u16(suite.kdf.id), u16(suite.aead.id));
}

export function pairMasterSecret(context: SenderContext | RecipientContext, salt: Uint8Array): Uint8Array {
  return context.export(pmsExporterContext(salt), SECRET_LEN);
}
