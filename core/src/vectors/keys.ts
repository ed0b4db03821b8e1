/**
 * Builds and checks test/vectors/pdmv2-keys.json: the key schedule from the
 * pairing master secret to per-flow keys, with every PRK and info string.
 */
import { fromHex, toHex } from '../util/bytes.js';
import { formatPrefix, parseIpv6, parsePrefix } from '../wire/addr.js';
import {
  AEAD_AES_128_GCM,
  AEAD_AES_256_GCM,
  aeadKeyLength,
  clientPrefixSecret,
  hostSecret,
  kdfTrace,
  KeyScheduleError,
  LABEL_CS,
  LABEL_HS,
  LABEL_SGS,
  LABEL_STK,
  longestPrefixMatch,
  makeEpoch,
  prefixContext,
  SECRET_LEN,
  serverGroupSecret,
  sessionTemporaryKey,
  stkContext,
  type FlowTuple,
  type Prefix,
} from '../keys/schedule.js';
import { u32 } from '../util/bytes.js';
import { type CheckReport, newReport, expectEqual } from './check-report.js';
import { pairingVectors, checkPairingVector } from './pairing.js';

type Json = Record<string, unknown>;

/** A test PMS; real ones come from pairing (section `pairing` shows that derivation). */
const TEST_PMS = fromHex('2c4f5e6a7b8c9d0e1f2031425364758697a8b9cadbecfd0e1f2a3b4c5d6e7f80');

const PREFIXES = ['2001:db8:1::/48', '2001:db8:1:2::/64', '2001:db8:1:2:3:4:5:6/128', '::/0'];
const HOSTS: Array<[string, string]> = [
  ['2001:db8:1::/48', '2001:db8:1::10'],
  ['2001:db8:1:2::/64', '2001:db8:1:2::abcd'],
];

interface FlowCase {
  name: string;
  prefix: string;
  client: string;
  aead: number;
  generation: number;
  rekey: number;
  tuple: { src: string; dst: string; sport: number; dport: number; protocol: number };
}

const FLOWS: FlowCase[] = [
  { name: 'UDP client to server', prefix: '2001:db8:1::/48', client: '2001:db8:1::10', aead: AEAD_AES_128_GCM, generation: 1, rekey: 0, tuple: { src: '2001:db8:1::10', dst: '2001:db8:2::20', sport: 40000, dport: 5201, protocol: 17 } },
  { name: 'UDP server to client (reverse 5-tuple)', prefix: '2001:db8:1::/48', client: '2001:db8:1::10', aead: AEAD_AES_128_GCM, generation: 1, rekey: 0, tuple: { src: '2001:db8:2::20', dst: '2001:db8:1::10', sport: 5201, dport: 40000, protocol: 17 } },
  { name: 'UDP client to server after one rekey', prefix: '2001:db8:1::/48', client: '2001:db8:1::10', aead: AEAD_AES_128_GCM, generation: 1, rekey: 1, tuple: { src: '2001:db8:1::10', dst: '2001:db8:2::20', sport: 40000, dport: 5201, protocol: 17 } },
  { name: 'TCP with AES-256-GCM, generation 18', prefix: '2001:db8:1:2::/64', client: '2001:db8:1:2::abcd', aead: AEAD_AES_256_GCM, generation: 18, rekey: 255, tuple: { src: '2001:db8:1:2::abcd', dst: '2001:db8:2::20', sport: 51000, dport: 443, protocol: 6 } },
  { name: 'ICMPv6 echo, identifier as ports', prefix: '2001:db8:1::/48', client: '2001:db8:1::10', aead: AEAD_AES_128_GCM, generation: 1, rekey: 0, tuple: { src: '2001:db8:1::10', dst: '2001:db8:2::20', sport: 0x1f2a, dport: 0x1f2a, protocol: 58 } },
];

function traceJson(t: { prk: Uint8Array; info: Uint8Array; okm: Uint8Array }): Json {
  return { prk: toHex(t.prk), info: toHex(t.info), okm: toHex(t.okm) };
}

function tupleOf(t: FlowCase['tuple']): FlowTuple {
  return { src: parseIpv6(t.src), dst: parseIpv6(t.dst), sport: t.sport, dport: t.dport, protocol: t.protocol };
}

function errorCases(sgs: Uint8Array): Array<{ name: string; input: Json; error: string; run: () => unknown }> {
  const hostBits: Prefix = { address: parseIpv6('2001:db8:1::1'), length: 48 };
  const tooLong: Prefix = { address: parseIpv6('2001:db8::'), length: 129 };
  const tuple = tupleOf(FLOWS[0]!.tuple);
  return [
    { name: 'prefix with host bits set', input: { prefix_address: '2001:db8:1::1', prefix_length: 48 }, error: 'BAD_PREFIX', run: () => clientPrefixSecret(sgs, hostBits) },
    { name: 'prefix length 129', input: { prefix_address: '2001:db8::', prefix_length: 129 }, error: 'BAD_PREFIX', run: () => clientPrefixSecret(sgs, tooLong) },
    { name: 'unknown data-path AEAD 3 (ChaCha20-Poly1305 is not a data-path AEAD)', input: { aead_id: 3 }, error: 'BAD_AEAD', run: () => sessionTemporaryKey(sgs, 3, 0, tuple) },
    { name: 'epoch wider than 12 bits', input: { epoch: 4096 }, error: 'BAD_EPOCH', run: () => sessionTemporaryKey(sgs, AEAD_AES_128_GCM, 4096, tuple) },
    { name: 'rekey count above 255', input: { generation: 1, rekey: 256 }, error: 'BAD_EPOCH', run: () => makeEpoch(1, 256) },
  ];
}

export function buildKeyVectors(): Json {
  const generations = [0, 1, 18].map((g) => {
    const t = kdfTrace(TEST_PMS, LABEL_SGS, u32(g), SECRET_LEN);
    return { generation: g, sgs: traceJson(t) };
  });
  const sgs1 = serverGroupSecret(TEST_PMS, 1);
  const sgs18 = serverGroupSecret(TEST_PMS, 18);
  const sgsFor = (g: number): Uint8Array => (g === 18 ? sgs18 : sgs1);

  const clientSecrets = PREFIXES.map((text) => {
    const p = parsePrefix(text);
    return { generation: 1, prefix: formatPrefix(p), context: toHex(prefixContext(p)), cs: traceJson(kdfTrace(sgs1, LABEL_CS, prefixContext(p), SECRET_LEN)) };
  });

  const hostSecrets = HOSTS.map(([prefixText, hostText]) => {
    const cs = clientPrefixSecret(sgs1, parsePrefix(prefixText));
    return { generation: 1, prefix: prefixText, host: hostText, hs: traceJson(kdfTrace(cs, LABEL_HS, parseIpv6(hostText), SECRET_LEN)) };
  });

  const flows = FLOWS.map((f) => {
    const cs = clientPrefixSecret(sgsFor(f.generation), parsePrefix(f.prefix));
    const hs = hostSecret(cs, parseIpv6(f.client));
    const epoch = makeEpoch(f.generation, f.rekey);
    const ctx = stkContext(f.aead, epoch, tupleOf(f.tuple));
    const t = kdfTrace(hs, LABEL_STK, ctx, aeadKeyLength(f.aead));
    return {
      name: f.name,
      generation: f.generation,
      rekey: f.rekey,
      epoch,
      prefix: f.prefix,
      client: f.client,
      aead_id: f.aead,
      tuple: f.tuple,
      cs: toHex(cs),
      hs: toHex(hs),
      context: toHex(ctx),
      stk: traceJson(t),
    };
  });

  const prefixList = ['2001:db8:1::/48', '2001:db8:1:2::/64', '2001:db8::/32'].map((p) => ({ prefix: parsePrefix(p), text: p }));
  const lookups = ['2001:db8:1:2::abcd', '2001:db8:1:3::1', '2001:db8:ffff::1', '2001:db9::1'].map((a) => {
    const m = longestPrefixMatch(prefixList, parseIpv6(a));
    return { address: a, match: m ? m.text : null };
  });

  const errors = errorCases(sgs1).map((c) => ({ name: c.name, input: c.input, error: c.error }));

  return {
    description:
      'pdmv2 key schedule vectors, generated by the TypeScript core (npm run vectors). See docs/PROTOCOL.md §5. All secrets here are test values.',
    version: 1,
    kdf: { hash: 'SHA-256', salt: '', info: 'label || 00 || context' },
    labels: { sgs: LABEL_SGS, cs: LABEL_CS, hs: LABEL_HS, stk: LABEL_STK },
    pairing: pairingVectors(),
    pms: toHex(TEST_PMS),
    generations,
    client_secrets: clientSecrets,
    host_secrets: hostSecrets,
    flows,
    longest_prefix_match: { prefixes: prefixList.map((p) => p.text), lookups },
    errors,
  };
}

function str(v: unknown): string {
  if (typeof v !== 'string') throw new TypeError('expected a string');
  return v;
}

/** Recompute every value in a keys vectors file from its inputs. */
export function checkKeyVectors(file: unknown): CheckReport {
  const report = newReport();
  const v = file as Json;
  const pms = fromHex(str(v.pms));
  for (const p of (v.pairing as Json[]) ?? []) report.run(`pairing: ${String(p.name)}`, () => checkPairingVector(p));
  for (const g of (v.generations as Json[]) ?? []) {
    report.run(`sgs generation ${String(g.generation)}`, () => {
      const t = kdfTrace(pms, LABEL_SGS, u32(g.generation as number), SECRET_LEN);
      expectEqual(JSON.stringify(traceJson(t)), JSON.stringify(g.sgs), 'sgs trace');
    });
  }
  const sgs1 = serverGroupSecret(pms, 1);
  for (const c of (v.client_secrets as Json[]) ?? []) {
    report.run(`cs ${String(c.prefix)}`, () => {
      const p = parsePrefix(str(c.prefix));
      expectEqual(toHex(prefixContext(p)), c.context, 'context');
      const t = kdfTrace(serverGroupSecret(pms, c.generation as number), LABEL_CS, prefixContext(p), SECRET_LEN);
      expectEqual(JSON.stringify(traceJson(t)), JSON.stringify(c.cs), 'cs trace');
    });
  }
  for (const h of (v.host_secrets as Json[]) ?? []) {
    report.run(`hs ${String(h.host)}`, () => {
      const cs = clientPrefixSecret(serverGroupSecret(pms, h.generation as number), parsePrefix(str(h.prefix)));
      const t = kdfTrace(cs, LABEL_HS, parseIpv6(str(h.host)), SECRET_LEN);
      expectEqual(JSON.stringify(traceJson(t)), JSON.stringify(h.hs), 'hs trace');
    });
  }
  for (const f of (v.flows as Json[]) ?? []) {
    report.run(`stk ${String(f.name)}`, () => {
      const cs = clientPrefixSecret(serverGroupSecret(pms, f.generation as number), parsePrefix(str(f.prefix)));
      expectEqual(toHex(cs), f.cs, 'cs');
      const hs = hostSecret(cs, parseIpv6(str(f.client)));
      expectEqual(toHex(hs), f.hs, 'hs');
      const epoch = makeEpoch(f.generation as number, f.rekey as number);
      expectEqual(epoch, f.epoch, 'epoch');
      const tuple = tupleOf(f.tuple as FlowCase['tuple']);
      expectEqual(toHex(stkContext(f.aead_id as number, epoch, tuple)), f.context, 'context');
      const stk = sessionTemporaryKey(hs, f.aead_id as number, epoch, tuple);
      expectEqual(toHex(stk), (f.stk as Json).okm, 'stk');
    });
  }
  const lpm = v.longest_prefix_match as Json | undefined;
  if (lpm) {
    const list = (lpm.prefixes as string[]).map((text) => ({ prefix: parsePrefix(text), text }));
    for (const l of lpm.lookups as Json[]) {
      report.run(`longest prefix match ${String(l.address)}`, () => {
        const m = longestPrefixMatch(list, parseIpv6(str(l.address)));
        expectEqual(m ? m.text : null, l.match, 'match');
      });
    }
  }
  const known = new Map(errorCases(sgs1).map((c) => [c.name, c]));
  for (const e of (v.errors as Json[]) ?? []) {
    report.run(`error: ${String(e.name)}`, () => {
      const c = known.get(str(e.name));
      if (!c) throw new Error('unknown error case');
      try {
        c.run();
      } catch (err) {
        if (!(err instanceof KeyScheduleError)) throw new Error(`untyped error: ${String(err)}`);
        expectEqual(err.code, e.error, 'error code');
        return;
      }
      throw new Error('no error raised');
    });
  }
  return report;
}
