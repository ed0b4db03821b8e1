/// <reference types="node" />
// IPv6 address and prefix text (RFC 4291 §2.2 input, RFC 5952 output).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes, randomInt } from 'node:crypto';
import { isIPv6 } from 'node:net';
import { toHex } from '../core/src/util/bytes.js';
import { AddressError, formatIpv6, formatPrefix, isLinkLocal, parseIpv6, parsePrefix } from '../core/src/wire/addr.js';

function hex(text: string): string {
  return toHex(parseIpv6(text));
}

/** RFC 5952 text from Node's WHATWG URL serializer (independent implementation of the same rules). */
function urlFormat(addr: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 8; i++) groups.push(((addr[2 * i]! << 8) | addr[2 * i + 1]!).toString(16));
  return new URL(`http://[${groups.join(':')}]/`).hostname.slice(1, -1);
}

function throwsAddressError(fn: () => unknown, what: string): void {
  assert.throws(fn, (e: unknown) => e instanceof AddressError && e.name === 'AddressError', what);
}

// ---------------------------------------------------------------- parse

test('parse: full, compressed and mixed-case forms', () => {
  assert.is(hex('2001:0db8:0000:0000:0000:0000:0000:0001'), '20010db8000000000000000000000001');
  assert.is(hex('2001:db8::1'), '20010db8000000000000000000000001');
  assert.is(hex('2001:DB8::AbCd'), '20010db800000000000000000000abcd');
  assert.is(hex('::'), '0'.repeat(32));
  assert.is(hex('::1'), '0'.repeat(31) + '1');
  assert.is(hex('1::'), '0001' + '0'.repeat(28));
  assert.is(hex('fe80::1:2'), 'fe80' + '0'.repeat(20) + '00010002');
  assert.is(hex('1:2:3:4:5:6:7:8'), '00010002000300040005000600070008');
  assert.is(hex('1:2:3:4:5:6:7::'), '00010002000300040005000600070000', ':: for one trailing group');
  assert.is(hex('::2:3:4:5:6:7:8'), '00000002000300040005000600070008', ':: for one leading group');
  assert.is(hex('1:2:3::5:6:7:8'), '00010002000300000005000600070008', ':: for one inner group');
  assert.is(hex('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 'f'.repeat(32));
  assert.is(hex('0:0:0:0:0:0:0:0'), '0'.repeat(32));
  assert.is(hex('00:000:0000::'), '0'.repeat(32));
  assert.is(parseIpv6('::').length, 16);
});

test('parse errors: AddressError for bad inputs', () => {
  const bad = [
    '',
    ':',
    ':::',
    '::::',
    '1:::2',
    '1::2::3',
    '::1::',
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1:2:3:4:5:6:7:8::',
    '::1:2:3:4:5:6:7:8',
    '1:2:3:4::5:6:7:8',
    ':1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:',
    ':1::',
    '1::2:',
    '12345::',
    '1:2:3:4:5:6:7:00000',
    'g::',
    '2001:db8::x',
    '2001:db8:: 1',
    ' ::1',
    '::1 ',
    '2001:db8::-1',
    '+1::',
    'fe80::1%eth0',
    'fe80::1%1',
    '::ffff:192.0.2.1',
    '1.2.3.4',
    '[::1]',
    '::1/128',
    '0x1::',
    '0:0:0:0:0:0:0:0:0',
    '0000:0000:0000:0000:0000:0000:0000:00000',
  ];
  for (const text of bad) throwsAddressError(() => parseIpv6(text), `'${text}'`);
});

test('parse agrees with node:net isIPv6 on which random strings are addresses (no IPv4, no zone)', () => {
  const alphabet = '0123456789abcdefABCDEF:::::g.%';
  let accepted = 0;
  for (let i = 0; i < 20000; i++) {
    const len = randomInt(0, 42);
    let s = '';
    for (let k = 0; k < len; k++) s += alphabet[randomInt(alphabet.length)]!;
    const node = isIPv6(s) && !s.includes('.') && !s.includes('%');
    let ours: boolean;
    try {
      parseIpv6(s);
      ours = true;
    } catch (e) {
      assert.ok(e instanceof AddressError, `only AddressError, for '${s}'`);
      ours = false;
    }
    assert.is(ours, node, `'${s}': parseIpv6 ${ours ? 'accepts' : 'rejects'}, node:net ${node ? 'accepts' : 'rejects'}`);
    if (ours) accepted++;
  }
  assert.ok(accepted > 20, `some random strings were addresses (${accepted})`);
});

// ---------------------------------------------------------------- format

test('format: RFC 5952 §4.2.1 shortest, longest zero run compressed', () => {
  assert.is(formatIpv6(parseIpv6('2001:db8:0:0:0:0:2:1')), '2001:db8::2:1');
  assert.is(formatIpv6(parseIpv6('2001:db8:0:0:1:0:0:0')), '2001:db8:0:0:1::', 'the longer run (3) wins over the earlier shorter run (2)');
  assert.is(formatIpv6(parseIpv6('1:0:0:2:0:0:0:3')), '1:0:0:2::3');
  assert.is(formatIpv6(parseIpv6('0:0:0:0:0:0:0:0')), '::');
  assert.is(formatIpv6(parseIpv6('0:0:0:0:0:0:0:1')), '::1');
  assert.is(formatIpv6(parseIpv6('1:0:0:0:0:0:0:0')), '1::');
  assert.is(formatIpv6(parseIpv6('0:0:1:0:0:0:0:0')), '0:0:1::');
  assert.is(formatIpv6(parseIpv6('0:0:0:1:0:0:0:0')), '0:0:0:1::', 'runs of 3 and 4: the longer, even though later');
});

test('format: first run on ties (RFC 5952 §4.2.3)', () => {
  assert.is(formatIpv6(parseIpv6('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
  assert.is(formatIpv6(parseIpv6('1:0:0:2:3:0:0:4')), '1::2:3:0:0:4');
  assert.is(formatIpv6(parseIpv6('0:0:1:2:3:4:0:0')), '::1:2:3:4:0:0');
  assert.is(formatIpv6(parseIpv6('0:0:0:1:0:0:0:2')), '::1:0:0:0:2');
});

test('format: a single zero group is not compressed (RFC 5952 §4.2.2)', () => {
  assert.is(formatIpv6(parseIpv6('2001:db8:0:1:1:1:1:1')), '2001:db8:0:1:1:1:1:1');
  assert.is(formatIpv6(parseIpv6('0:1:2:3:4:5:6:7')), '0:1:2:3:4:5:6:7');
  assert.is(formatIpv6(parseIpv6('1:2:3:4:5:6:7:0')), '1:2:3:4:5:6:7:0');
  assert.is(formatIpv6(parseIpv6('1:0:2:0:3:0:4:0')), '1:0:2:0:3:0:4:0');
});

test('format: lowercase, leading zeros dropped (RFC 5952 §4.1, §4.3)', () => {
  assert.is(formatIpv6(parseIpv6('2001:0DB8:00AB:000C:ABCD:EF01:0001:0000')), '2001:db8:ab:c:abcd:ef01:1:0');
  assert.is(formatIpv6(parseIpv6('FE80::0001')), 'fe80::1');
});

test('format: agrees with the WHATWG URL serializer for random addresses, and round-trips', () => {
  for (let i = 0; i < 5000; i++) {
    const a = new Uint8Array(randomBytes(16));
    // Plenty of zero groups so runs and ties are common.
    for (let g = 0; g < 8; g++) {
      if (randomInt(0, 2) === 0) {
        a[2 * g] = 0;
        a[2 * g + 1] = 0;
      } else if (randomInt(0, 3) === 0) {
        a[2 * g] = 0;
      }
    }
    const text = formatIpv6(a);
    assert.is(text, urlFormat(a), toHex(a));
    assert.is(text, text.toLowerCase());
    assert.equal(parseIpv6(text), a, `round trip ${text}`);
  }
});

test('format errors: not 16 octets', () => {
  for (const n of [0, 4, 15, 17]) throwsAddressError(() => formatIpv6(new Uint8Array(n)), `${n} octets`);
});

// ---------------------------------------------------------------- prefixes

test('parsePrefix: address and length, canonical text back', () => {
  const p = parsePrefix('2001:DB8:1::/48');
  assert.is(toHex(p.address), '20010db8000100000000000000000000');
  assert.is(p.length, 48);
  assert.is(formatPrefix(p), '2001:db8:1::/48');
  assert.equal(parsePrefix('::/0'), { address: new Uint8Array(16), length: 0 });
  assert.is(parsePrefix('2001:db8:1:2:3:4:5:6/128').length, 128);
  assert.is(parsePrefix('2001:db8::/29').length, 29, 'host bits zero within a partial octet');
  assert.is(parsePrefix('8000::/1').length, 1);
  assert.is(parsePrefix('fe80::/10').length, 10);
});

test('parsePrefix: host bits set is an error, never masked', () => {
  for (const text of ['2001:db8:1::1/48', '2001:db8::/28' /* db8 has bit 31 set */, '::1/127', '8000::/0', '2001:db8:1:2:3:4:5:7/127', 'fec0::/9', '0:1::/15']) {
    throwsAddressError(() => parsePrefix(text), text);
  }
  // The boundary bit: /31 of 2001:db8:: is fine only if bit 31 is zero; db8 = 1101 1011 1000, bit 31 is 0.
  assert.is(parsePrefix('2001:db8::/31').length, 31);
  try {
    parsePrefix('2001:db8:1::1/48');
  } catch (e) {
    assert.match((e as Error).message, /host bits/);
  }
});

test('parsePrefix: every length 0..128 of an all-ones network accepts exactly its own mask', () => {
  for (let len = 0; len <= 128; len++) {
    const a = new Uint8Array(16);
    for (let bit = 0; bit < len; bit++) a[bit >> 3] = a[bit >> 3]! | (0x80 >> (bit & 7));
    const text = formatIpv6(a);
    assert.is(parsePrefix(`${text}/${len}`).length, len);
    if (len > 0) throwsAddressError(() => parsePrefix(`${text}/${len - 1}`), `${text}/${len - 1}`);
  }
});

test('parsePrefix: length range and syntax', () => {
  for (const text of ['::/129', '::/256', '::/-1', '::/', '::/01', '::/1.0', '::/ 1', '::/1 ', '::/0x10', '::', '2001:db8::', '::/64/64', '/64', '::/1000', 'x::/64']) {
    throwsAddressError(() => parsePrefix(text), text);
  }
  assert.is(parsePrefix('::/128').length, 128);
  assert.is(parsePrefix('::/0').length, 0);
});

test('isLinkLocal: fe80::/10 only', () => {
  assert.ok(isLinkLocal(parseIpv6('fe80::1')));
  assert.ok(isLinkLocal(parseIpv6('febf:ffff::1')));
  assert.not.ok(isLinkLocal(parseIpv6('fec0::1')));
  assert.not.ok(isLinkLocal(parseIpv6('fe7f::1')));
  assert.not.ok(isLinkLocal(parseIpv6('2001:db8::1')));
});

test.run();
