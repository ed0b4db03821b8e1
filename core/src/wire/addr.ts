/** IPv6 address and prefix text forms (RFC 4291 §2.2 input, RFC 5952 output). */
import type { Prefix } from '../keys/schedule.js';

export class AddressError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AddressError';
  }
}

function parseGroups(part: string, text: string): number[] {
  if (part === '') return [];
  return part.split(':').map((g) => {
    if (!/^[0-9a-fA-F]{1,4}$/.test(g)) throw new AddressError(`invalid IPv6 address '${text}'`);
    return parseInt(g, 16);
  });
}

/** Parse an IPv6 address (no zone index, no embedded IPv4). Throws AddressError. */
export function parseIpv6(text: string): Uint8Array {
  if (text.length === 0 || text.length > 39) throw new AddressError(`invalid IPv6 address '${text}'`);
  const halves = text.split('::');
  if (halves.length > 2) throw new AddressError(`invalid IPv6 address '${text}'`);
  const head = parseGroups(halves[0]!, text);
  const tail = halves.length === 2 ? parseGroups(halves[1]!, text) : [];
  const groups = halves.length === 2 ? head.length + tail.length : head.length;
  if ((halves.length === 2 && groups > 7) || (halves.length === 1 && groups !== 8)) {
    throw new AddressError(`invalid IPv6 address '${text}'`);
  }
  const all = [...head, ...new Array<number>(8 - groups).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

/** RFC 5952 canonical text: lowercase, leading zeros dropped, longest zero run (≥ 2) as '::'. */
export function formatIpv6(addr: Uint8Array): string {
  if (addr.length !== 16) throw new AddressError('IPv6 address must be 16 octets');
  const groups: number[] = [];
  for (let i = 0; i < 8; i++) groups.push((addr[2 * i]! << 8) | addr[2 * i + 1]!);
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestLen < 2) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

/** Parse 'addr/len'. Host bits must be zero: a typo in a prefix is an error, not a silent mask. */
export function parsePrefix(text: string): Prefix {
  const slash = text.indexOf('/');
  if (slash < 0) throw new AddressError(`prefix '${text}' has no '/length'`);
  const lenText = text.slice(slash + 1);
  if (!/^(0|[1-9][0-9]{0,2})$/.test(lenText) || Number(lenText) > 128) {
    throw new AddressError(`prefix '${text}' has an invalid length`);
  }
  const address = parseIpv6(text.slice(0, slash));
  const length = Number(lenText);
  for (let bit = length; bit < 128; bit++) {
    if (address[bit >> 3]! & (0x80 >> (bit & 7))) throw new AddressError(`prefix '${text}' has host bits set`);
  }
  return { address, length };
}

export function formatPrefix(p: Prefix): string {
  return `${formatIpv6(p.address)}/${p.length}`;
}

export function isLinkLocal(addr: Uint8Array): boolean {
  return addr[0] === 0xfe && (addr[1]! & 0xc0) === 0x80;
}
