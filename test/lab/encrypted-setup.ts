// Writes the inputs of the QEMU lab's encrypted scenario (keys for the two
// kernel modules, key files for the analyzer, bad control writes, crafted
// packets) into OUTDIR:
//   node .build/node/test/lab/encrypted-setup.js OUTDIR
//
// Everything derives from a fixed TEST Pairing Master Secret (below): these are
// test values, published in the repository, never to be used for real traffic.
// Topology (qemu/scenarios/lib/lab.sh): lan host 2001:db8:1::2 in 2001:db8:1::/64
// (the client prefix) behind rtr; server 2001:db8:2::2 in 2001:db8:2::/64 (the
// server prefix). Pairing 00000000000000a1, AEAD 1 (AES-128-GCM), generations
// 1 and 2 (SGS = KDF(PMS, "pdmv2 v1 sgs", generation), docs/PROTOCOL.md §5).
//
// Files:
//   secrets.json        plaintext AnalyzerKeys (docs/PROTOCOL.md §7.8),
//                       role "server", `sgs` keys of generations 1 and 2: the
//                       artifact any analyzer can use (--keys secrets.json)
//   wrong-secrets.json  same shape, SGS from another (wrong) test PMS
//   rtr-gen1.ctl        router control write: `key PAIRING GEN AEAD PREFIX CS_HEX`,
//                       `peer PAIRING SERVER_PREFIX`, `active PAIRING GEN`
//   rtr-gen2.ctl        `key` of generation 2 and `active PAIRING 2` (gen 1 stays)
//   wan-gen1.ctl        server control write: `sgs PAIRING GEN AEAD SGS_HEX CLIENT_PREFIX`,
//   wan-gen2.ctl          `active PAIRING GEN` (no peer line: the prefixes identify the pairing)
//   bad-control.txt     router control writes that must each be rejected, after
//                       rtr-gen1.ctl: blocks separated by a line `---`, each a
//                       `# name` comment line and the line(s) of one write
//   inject-encrypted.hex  "name hex" lines for qemu/tools/pdm-inject.c: whole
//                       IPv6/UDP packets lan:4242 -> server:9 with one PDMv2 option
//   inject-hardening.hex  the same for the hardening scenario (hardeningInjected below)
//   expect.json         pairing, prefixes, addresses, the injected tuple and PSNs
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { formatPrefix, parseIpv6, parsePrefix } from '../../core/src/wire/addr.js';
import { ascii, toHex } from '../../core/src/util/bytes.js';
import { encodeAnalyzerKeys, parseAnalyzerKeys, type AnalyzerKeys } from '../../core/src/enroll/export.js';
import { generationStart, serverKey, type Schedule } from '../../core/src/enroll/schedule.js';
import { buildDestOptsHeader, buildPacket, NH_DEST_OPTS, NH_ICMPV6, NH_UDP, parsePacket } from '../../core/src/wire/ipv6.js';
import {
  AEAD_AES_128_GCM,
  clientPrefixSecret,
  hostSecret,
  makeEpoch,
  serverGroupSecret,
  sessionTemporaryKey,
  type FlowTuple,
} from '../../core/src/keys/schedule.js';
import { decodeOption, encodeClear, OPT_LEN_ENCRYPTED, PDM_OPTION_TYPE } from '../../core/src/wire/options.js';
import { sealOption } from '../../core/src/keys/seal.js';

/** TEST VALUE: the lab's Pairing Master Secret (32 ASCII octets). Not secret, never for real use. */
export const LAB_TEST_PMS = ascii('pdmv2 lab test PMS (not secret)!');
/** TEST VALUE: a second PMS for the wrong-key cases. */
export const LAB_WRONG_PMS = ascii('pdmv2 lab WRONG PMS (not secret)');

export const PAIRING = '00000000000000a1';
export const OTHER_PAIRING = '00000000000000b2';
export const AEAD = AEAD_AES_128_GCM;
export const GENERATIONS = [1, 2] as const;

// qemu/scenarios/lib/lab.sh
export const CLIENT_PREFIX = '2001:db8:1::/64';
export const SERVER_PREFIX = '2001:db8:2::/64';
export const LAN_IP = '2001:db8:1::2';
export const WAN_IP = '2001:db8:2::2';
export const RTR_WAN_IP = '2001:db8:2::1';

/** Fixed, plausible schedule: generation g starts at T0 + g * PERIOD (generation 1: 2026-01-01T00:00Z). */
export const SCHEDULE: Schedule = { t0: 1767139200, period: 86400, overlap: 3600 };
const CREATED = generationStart(SCHEDULE, 1);

export const INJECT_SPORT = 4242;
export const INJECT_DPORT = 9;
export const INJECT_EPOCH = makeEpoch(1, 0); // 0x100
/** An epoch of generation 5, which no test key has: the receiver cannot check its tag. */
export const UNKNOWN_EPOCH = makeEpoch(5, 0x33);
const UDP_PAYLOAD = ascii('pdmv2-encrypted-lab');

function analyzerKeys(pms: Uint8Array): AnalyzerKeys {
  return {
    pairing: PAIRING,
    role: 'server',
    aead: AEAD,
    mode: 'encrypted',
    t0: SCHEDULE.t0,
    period: SCHEDULE.period,
    overlap: SCHEDULE.overlap,
    client_prefixes: [CLIENT_PREFIX],
    server_prefixes: [SERVER_PREFIX],
    created: CREATED,
    keys: GENERATIONS.map((g) =>
      serverKey(pms, { generation: g, not_before: generationStart(SCHEDULE, g), not_after: generationStart(SCHEDULE, g + 1) + SCHEDULE.overlap }),
    ),
  };
}

/** The plaintext key file, one field per line for people; parseAnalyzerKeys reads it. */
function keyFileText(k: AnalyzerKeys): string {
  const compact = JSON.parse(String.fromCharCode(...encodeAnalyzerKeys(k))) as unknown;
  const text = `${JSON.stringify(compact, null, 1)}\n`;
  parseAnalyzerKeys(ascii(text)); // throws if the shape ever drifts
  return text;
}

const sgsOf = (pms: Uint8Array, g: number): Uint8Array => serverGroupSecret(pms, g);
const csOf = (pms: Uint8Array, g: number, prefix = CLIENT_PREFIX): Uint8Array => clientPrefixSecret(sgsOf(pms, g), parsePrefix(prefix));

function rtrControl(g: number, withPeer: boolean): string {
  const lines = [`key ${PAIRING} ${g} ${AEAD} ${CLIENT_PREFIX} ${toHex(csOf(LAB_TEST_PMS, g))}`];
  if (withPeer) lines.push(`peer ${PAIRING} ${SERVER_PREFIX}`);
  lines.push(`active ${PAIRING} ${g}`);
  return `${lines.join('\n')}\n`;
}

function wanControl(g: number): string {
  return `sgs ${PAIRING} ${g} ${AEAD} ${toHex(sgsOf(LAB_TEST_PMS, g))} ${CLIENT_PREFIX}\nactive ${PAIRING} ${g}\n`;
}

function badControl(): string {
  const cs1 = toHex(csOf(LAB_TEST_PMS, 1));
  const overlappingPeer = formatPrefix(parsePrefix('2001:db8:2::/48')); // contains the first pairing's 2001:db8:2::/64
  const cases: Array<[string, string[]]> = [
    ['short key: 62 hex digits', [`key ${PAIRING} 1 ${AEAD} ${CLIENT_PREFIX} ${cs1.slice(0, 62)}`]],
    ["bad hex: a 'g' in the secret", [`key ${PAIRING} 1 ${AEAD} ${CLIENT_PREFIX} ${cs1.slice(0, 63)}g`]],
    ['unknown AEAD 3', [`key ${PAIRING} 1 3 ${CLIENT_PREFIX} ${cs1}`]],
    ['prefix with host bits set (2001:db8:1::1/64)', [`key ${PAIRING} 1 ${AEAD} 2001:db8:1::1/64 ${cs1}`]],
    [
      'generation 17 collides mod 16 with installed generation 1',
      [`key ${PAIRING} 17 ${AEAD} ${CLIENT_PREFIX} ${toHex(csOf(LAB_TEST_PMS, 17))}`],
    ],
    [
      `overlapping scope: pairing ${OTHER_PAIRING} keys the same client prefix with peer ${overlappingPeer}, overlapping ${PAIRING}'s ${SERVER_PREFIX}`,
      [`key ${OTHER_PAIRING} 1 ${AEAD} ${CLIENT_PREFIX} ${toHex(csOf(LAB_WRONG_PMS, 1))}`, `peer ${OTHER_PAIRING} ${overlappingPeer}`],
    ],
  ];
  return `${cases.map(([name, lines]) => `# ${name}\n${lines.join('\n')}\n`).join('---\n')}`;
}

// ---------------------------------------------------------------------------------------------
// Crafted packets

const src = parseIpv6(LAN_IP);
const dst = parseIpv6(WAN_IP);
export const INJECT_TUPLE: FlowTuple = { src, dst, sport: INJECT_SPORT, dport: INJECT_DPORT, protocol: NH_UDP };

/** STK of the injected tuple's direction (the client is the source) under `pms`, generation 1. */
function injectStk(pms: Uint8Array, epoch = INJECT_EPOCH): Uint8Array {
  return sessionTemporaryKey(hostSecret(csOf(pms, 1), src), AEAD, epoch, INJECT_TUPLE);
}

/** Upper-layer checksum over the RFC 8200 §8.1 pseudo-header, written at `at` (0 never: 0xffff). */
function withChecksum(from: Uint8Array, to: Uint8Array, nextHeader: number, seg: Uint8Array, at: number): Uint8Array {
  const len = seg.length;
  const pseudo = new Uint8Array(40 + len + (len & 1));
  pseudo.set(from, 0);
  pseudo.set(to, 16);
  pseudo.set([len >>> 24, (len >>> 16) & 0xff, len >> 8, len & 0xff, 0, 0, 0, nextHeader], 32);
  pseudo.set(seg, 40);
  let sum = 0;
  for (let i = 0; i < pseudo.length; i += 2) sum += (pseudo[i]! << 8) | pseudo[i + 1]!;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  const ck = ~sum & 0xffff || 0xffff;
  seg[at] = ck >> 8;
  seg[at + 1] = ck & 0xff;
  return seg;
}

/** UDP header with a correct checksum and the payload. */
function udp(sport = INJECT_SPORT): Uint8Array {
  const len = 8 + UDP_PAYLOAD.length;
  const seg = new Uint8Array(len);
  seg.set([sport >> 8, sport & 0xff, INJECT_DPORT >> 8, INJECT_DPORT & 0xff, len >> 8, len & 0xff, 0, 0]);
  seg.set(UDP_PAYLOAD, 8);
  return withChecksum(src, dst, NH_UDP, seg, 6);
}

function withOption(option: Uint8Array, sport = INJECT_SPORT): Uint8Array {
  const h = buildDestOptsHeader(null, NH_UDP, option);
  if (!h.ok) throw new Error(`cannot build the Destination Options header: ${h.error}`);
  return buildPacket(src, dst, NH_DEST_OPTS, [...h.value, ...udp(sport)]);
}

const metrics = { psnlr: 0, globalPointer: 1, scaleDtlr: 0, scaleDtls: 0, deltaTlr: 0, deltaTls: 0 };

export interface InjectedPacket {
  name: string;
  psntp: number;
  epoch: number;
  /** What the analyzer reports for it (decode.ts error or 'ok'). */
  analyzer: string;
  /** What a receiving module should make of it. */
  module: string;
  hex: string;
}

function injected(): InjectedPacket[] {
  const valid = sealOption(injectStk(LAB_TEST_PMS), AEAD, { epoch: INJECT_EPOCH, psntp: 1000, ...metrics });
  const tampered = valid.slice();
  tampered[8]! ^= 0x01; // first ciphertext octet
  const wrong = sealOption(injectStk(LAB_WRONG_PMS), AEAD, { epoch: INJECT_EPOCH, psntp: 1001, ...metrics });
  // Opt Data Len 30, version 2 | epoch 0x100, PSNTP 1002: no such length (BAD_LENGTH).
  const badLength = Uint8Array.from([PDM_OPTION_TYPE, 30, 0x21, 0x00, 0, 0, 0x03, 0xea, ...new Array<number>(24).fill(0xa5)]);
  // Header of 16 octets (Hdr Ext Len 1): PadN(0), then an encrypted option (length 34)
  // of which only 12 octets fit, PSNTP 1003: the TLV walk runs past the header.
  const overrun = [NH_UDP, 1, 1, 0, PDM_OPTION_TYPE, OPT_LEN_ENCRYPTED, 0x21, 0x00, 0, 0, 0x03, 0xeb, ...valid.subarray(8, 12)];
  const packets: Array<Omit<InjectedPacket, 'hex'> & { packet: Uint8Array }> = [
    { name: 'valid', psntp: 1000, epoch: INJECT_EPOCH, analyzer: 'ok', module: 'accepted', packet: withOption(valid) },
    { name: 'replay', psntp: 1000, epoch: INJECT_EPOCH, analyzer: 'ok', module: 'replay', packet: withOption(valid) },
    { name: 'tampered', psntp: 1000, epoch: INJECT_EPOCH, analyzer: 'TAG_MISMATCH', module: 'auth-failed', packet: withOption(tampered) },
    { name: 'wrong-key', psntp: 1001, epoch: INJECT_EPOCH, analyzer: 'TAG_MISMATCH', module: 'auth-failed', packet: withOption(wrong) },
    { name: 'truncated-option', psntp: 1002, epoch: INJECT_EPOCH, analyzer: 'BAD_LENGTH', module: 'invalid', packet: withOption(badLength) },
    {
      name: 'truncated-header',
      psntp: 1003,
      epoch: INJECT_EPOCH,
      analyzer: 'unparsed',
      module: 'parse-error',
      packet: buildPacket(src, dst, NH_DEST_OPTS, [...overrun, ...udp()]),
    },
  ];
  // The crafted packets must be what their names say (a wrong length here once made an overrun).
  for (const { name, packet, analyzer } of packets) {
    const parsed = parsePacket(packet);
    const got = !parsed.ok
      ? 'unparsed'
      : parsed.value.pdm
        ? (() => {
            const d = decodeOption(packet.subarray(parsed.value.pdm.offset, parsed.value.pdm.offset + parsed.value.pdm.length));
            return d.ok ? 'ok' : d.error;
          })()
        : 'no-pdm';
    const want = analyzer === 'TAG_MISMATCH' ? 'ok' : analyzer;
    if (got !== want) throw new Error(`crafted packet ${name}: ${got}, expected ${want}`);
  }
  return packets.map(({ packet, ...p }) => ({ ...p, hex: toHex(packet) }));
}

/** UDP source port of the flow whose Packet Too Big the hardening scenario forges (qemu/tools/flowgen -s). */
export const PTB_SPORT = 30000;
/** The same behind NAT66: the router's WAN address is the quoted packet's source. */
export const PTB_NAT_SPORT = 30001;
/** The MTU that Packet Too Big announces. */
export const PTB_MTU = 1400;
/** Options under distinct epochs of generation 1 in the hardening scenario's flood. */
export const EPOCH_FLOOD = 64;

/**
 * The hardening scenario's forged packets (qemu/scenarios/hardening.sh), "name hex" lines:
 * - unknown-epoch: an option of the pairing's flow under an epoch whose generation (5) no
 *   receiver has a key of, sealed with a key of the forger's own; with `verify on` its
 *   PSNTP (1004) must not be learned;
 * - epoch-flood-N: EPOCH_FLOOD options under as many epochs of generation 1 (each one
 *   a key derivation for a receiver that has generation 1), wrong tags, PSNTP 2000 + N;
 * - ptb: a Packet Too Big (MTU PTB_MTU) from the server's side to the LAN host about
 *   the LAN host's UDP packet PTB_SPORT -> 9 with a clear PDMv2 option in it, as a router
 *   further along would send it, for a router that inserted that option;
 * - ptb-nat: the same for a router that masquerades the LAN (NAT66): to the router's WAN
 *   address, about its packet PTB_NAT_SPORT -> 9.
 */
function hardeningInjected(): string {
  const lines: string[] = [];
  const forged = sealOption(injectStk(LAB_WRONG_PMS, UNKNOWN_EPOCH), AEAD, { epoch: UNKNOWN_EPOCH, psntp: 1004, ...metrics });
  lines.push(`unknown-epoch ${toHex(withOption(forged))}`);
  for (let n = 1; n <= EPOCH_FLOOD; n++) {
    const epoch = makeEpoch(1, n);
    const opt = sealOption(injectStk(LAB_WRONG_PMS, epoch), AEAD, { epoch, psntp: 2000 + n, ...metrics });
    lines.push(`epoch-flood-${n} ${toHex(withOption(opt))}`);
  }
  lines.push(`ptb ${toHex(forgedPtb(src, PTB_SPORT))}`);
  lines.push(`ptb-nat ${toHex(forgedPtb(parseIpv6(RTR_WAN_IP), PTB_NAT_SPORT))}`);
  return `${lines.join('\n')}\n`;
}

/**
 * Packet Too Big (MTU PTB_MTU) from the server's side to `to`, quoting `to`'s UDP packet
 * `sport` -> 9 to the server with a clear PDMv2 option in it.
 */
function forgedPtb(to: Uint8Array, sport: number): Uint8Array {
  const h = buildDestOptsHeader(null, NH_UDP, encodeClear({ epoch: 0, psntp: 77, ...metrics }));
  if (!h.ok) throw new Error(`cannot build the Destination Options header: ${h.error}`);
  const seg = new Uint8Array(8 + UDP_PAYLOAD.length);
  seg.set([sport >> 8, sport & 0xff, INJECT_DPORT >> 8, INJECT_DPORT & 0xff, seg.length >> 8, seg.length & 0xff, 0, 0]);
  seg.set(UDP_PAYLOAD, 8);
  const quoted = buildPacket(to, dst, NH_DEST_OPTS, [...h.value, ...withChecksum(to, dst, NH_UDP, seg, 6)]);
  const icmp = new Uint8Array(8 + quoted.length);
  icmp.set([2, 0, 0, 0, PTB_MTU >>> 24, (PTB_MTU >>> 16) & 0xff, PTB_MTU >> 8, PTB_MTU & 0xff]);
  icmp.set(quoted, 8);
  return buildPacket(dst, to, NH_ICMPV6, withChecksum(dst, to, NH_ICMPV6, icmp, 2));
}

function main(): void {
  const out = process.argv[2];
  if (!out) {
    console.error('usage: encrypted-setup OUTDIR');
    process.exit(2);
  }
  mkdirSync(out, { recursive: true });
  const packets = injected();
  const files: Record<string, string> = {
    'secrets.json': keyFileText(analyzerKeys(LAB_TEST_PMS)),
    'wrong-secrets.json': keyFileText(analyzerKeys(LAB_WRONG_PMS)),
    'rtr-gen1.ctl': rtrControl(1, true),
    'rtr-gen2.ctl': rtrControl(2, false),
    'wan-gen1.ctl': wanControl(1),
    'wan-gen2.ctl': wanControl(2),
    'bad-control.txt': badControl(),
    'inject-encrypted.hex': packets.map((p) => `${p.name} ${p.hex}\n`).join(''),
    'inject-hardening.hex': hardeningInjected(),
    'expect.json': `${JSON.stringify(
      {
        pairing: PAIRING,
        aead: AEAD,
        generations: GENERATIONS,
        client_prefixes: [CLIENT_PREFIX],
        server_prefixes: [SERVER_PREFIX],
        client: LAN_IP,
        server: WAN_IP,
        injected: {
          tuple: { src: LAN_IP, dst: WAN_IP, sport: INJECT_SPORT, dport: INJECT_DPORT, proto: NH_UDP },
          packets: packets.map(({ hex: _hex, ...p }) => p),
        },
      },
      null,
      1,
    )}\n`,
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(out, name), text);
  console.log(`wrote ${Object.keys(files).length} files to ${out}: ${Object.keys(files).join(' ')}`);
}

// Importable by tests without side effects; runs as a script otherwise.
if (process.argv[1] && /encrypted-setup\.js$/.test(process.argv[1])) main();
