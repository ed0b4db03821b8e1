// Random PDMv2 clear-option fields for round-trip and fuzz tests, every field
// drawn over its whole range (node:crypto's randomInt, uniform).
import { randomInt } from 'node:crypto';
import type { Pdmv2Clear } from '../core/src/wire/options.js';

export type ClearFields = Omit<Pdmv2Clear, 'format'>;

export function randomClearFields(): ClearFields {
  return {
    epoch: randomInt(0x1000),
    psntp: randomInt(2 ** 32),
    psnlr: randomInt(2 ** 32),
    globalPointer: randomInt(2 ** 32),
    scaleDtlr: randomInt(256),
    scaleDtls: randomInt(256),
    deltaTlr: randomInt(0x10000),
    deltaTls: randomInt(0x10000),
  };
}
