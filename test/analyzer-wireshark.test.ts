// The decrypted export (`pdmv2-analyze decrypt`) and the Wireshark Lua
// dissector (analyzer/wireshark/pdmv2.lua) run by the real tshark: every PDM
// form dissected with the analyzer's field values, malformed options flagged
// by expert info and nothing else, the export's frames as long as the
// originals with only the option octets changed, and its metrics readable by
// tshark.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseIpv6, parsePrefix } from '../core/src/wire/addr.js';
import { ascii } from '../core/src/util/bytes.js';
import { encodeAnalyzerKeys } from '../core/src/enroll/export.js';
import { serverKey } from '../core/src/enroll/schedule.js';
import { buildPacket } from '../core/src/wire/ipv6.js';
import { AEAD_AES_128_GCM, clientPrefixSecret, hostSecret, serverGroupSecret, sessionTemporaryKey } from '../core/src/keys/schedule.js';
import { encodeClear } from '../core/src/wire/options.js';
import { LINKTYPE_ETHERNET, readPcap } from '../analyzer/src/pcap.js';
import type { AnalysisReport } from '../analyzer/src/report.js';
import { CLIENT, ether, exchange, pcapFile, SERVER, udp, withOption, type ExchangePacket } from './capture-fixtures.js';
import { installPlugins, type PluginTshark } from './wireshark-plugins.js';

const CLI = fileURLToPath(new URL('../analyzer/src/cli.js', import.meta.url));
const LUA = fileURLToPath(new URL('../../../analyzer/wireshark/pdmv2.lua', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'pdmv2-analyzer-ws-'));

function cli(args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** tshark with the Lua dissector: one array of field values per frame. */
function tshark(file: string, fields: string[], filter?: string): string[][] {
  const args = ['-n', '-X', `lua_script:${LUA}`, '-r', file, '-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=|'];
  for (const f of fields) args.push('-e', f);
  if (filter) args.push('-Y', filter);
  const r = spawnSync('tshark', args, { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.is(r.status, 0, `tshark: ${r.stderr}`);
  assert.not.match(r.stderr, /Lua: Error|error/i, 'the script loads without errors');
  return r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t'));
}

// Real keys, as an analyzer gets them: the SGS of generation 1, and each direction's STK derived from it.
const PMS = ascii('analyzer-wireshark test PMS, no!');
const keyFile = join(dir, 'keys.json');
writeFileSync(
  keyFile,
  encodeAnalyzerKeys({
    pairing: '00000000000000a1',
    role: 'server',
    aead: AEAD_AES_128_GCM,
    mode: 'encrypted',
    t0: 1000,
    period: 100,
    overlap: 10,
    client_prefixes: ['2001:db8:1::/64'],
    server_prefixes: ['2001:db8:2::/64'],
    created: 1100,
    keys: [serverKey(PMS, { generation: 1, not_before: 1100, not_after: 1210 })],
  }),
);
const hs = hostSecret(clientPrefixSecret(serverGroupSecret(PMS, 1), parsePrefix('2001:db8:1::/64')), parseIpv6(CLIENT));
const stk = (fromClient: boolean): Uint8Array => {
  const c = parseIpv6(CLIENT);
  const s = parseIpv6(SERVER);
  const t = fromClient ? { src: c, dst: s, sport: 40004, dport: 5201, protocol: 17 } : { src: s, dst: c, sport: 5201, dport: 40004, protocol: 17 };
  return sessionTemporaryKey(hs, AEAD_AES_128_GCM, 0x100, t);
};

const forms = [
  exchange({ form: 'pdm-v1', rounds: 5, sport: 40001 }),
  exchange({ form: 'pdmv2-clear', rounds: 5, sport: 40002 }),
  exchange({ form: 'pdmv2-draft-clear', rounds: 5, sport: 40003 }),
  exchange({ form: 'pdmv2-encrypted', rounds: 5, sport: 40004, keyFor: stk, aeadId: AEAD_AES_128_GCM }),
];

/** Malformed options (and one oddity that is only a warning), each in an otherwise fine packet. */
function oddities(): Array<[string, Uint8Array]> {
  const src = parseIpv6(CLIENT);
  const dst = parseIpv6(SERVER);
  const body = udp(CLIENT, SERVER, 40009, 9).subarray(40);
  const badLength = [17, 4, 0x0f, 30, ...new Array<number>(30).fill(0), 1, 4, 0, 0, 0, 0];
  const clear = encodeClear({ epoch: 1, psntp: 77, psnlr: 0, globalPointer: 0, scaleDtlr: 0, scaleDtls: 0, deltaTlr: 0, deltaTls: 0 });
  const badVersion = Uint8Array.from(clear);
  badVersion[2] = 0x30 | (badVersion[2]! & 0x0f);
  const reserved = Uint8Array.from(clear);
  reserved[19] = 1;
  return [
    ['BAD_LENGTH', buildPacket(src, dst, 60, [...badLength, ...body])],
    ['BAD_VERSION', withOption(udp(CLIENT, SERVER, 40009, 9), badVersion)],
    ['reserved', withOption(udp(CLIENT, SERVER, 40009, 9), reserved)],
    // A Destination Options header without PDM stays with Wireshark's own dissector.
    ['no-pdm', buildPacket(src, dst, 60, [17, 0, 1, 4, 0, 0, 0, 0, ...body])],
  ];
}

const all: ExchangePacket[] = forms.flatMap((f) => f.packets);
const odd = oddities();
const frames = [...all.map((p) => ({ t: p.t, data: ether(p.ip) })), ...odd.map(([, ip], i) => ({ t: 1_767_225_601_000_000_000n + BigInt(i), data: ether(ip) }))];
const capture = join(dir, 'forms.pcap');
writeFileSync(capture, pcapFile(frames, { linkType: LINKTYPE_ETHERNET, nanos: true }));

interface DecodedRecord {
  index: number;
  option: { format: string; psntp: number; psnlr?: number; epoch?: number } | null;
  error: string | null;
  deltaTlrNs: number | null;
}

const FORMAT_NAMES: Record<string, string> = {
  'pdm-v1': 'RFC 8250 PDM',
  'pdmv2-clear': 'PDMv2 (clear)',
  'pdmv2-draft-clear': 'PDMv2 (older draft, clear)',
  'pdmv2-encrypted': 'PDMv2 (encrypted)',
};

test('tshark with the Lua dissector reads every PDM form with the analyzer values, and flags only the malformed', () => {
  const decoded = JSON.parse(cli(['decode', capture, '--json']).stdout) as DecodedRecord[];
  const rows = tshark(capture, ['frame.number', 'pdmv2.format', 'pdmv2.psntp', 'pdmv2.psnlr', 'pdmv2.epoch', 'pdmv2.dtlr_ns', '_ws.expert.message', '_ws.malformed', 'ipv6.opt.pdm.psn_this_pkt']);
  assert.is(rows.length, frames.length);
  for (const [frame, format, psntp, psnlr, epoch, dtlr, expert, malformed, builtin] of rows) {
    const r = decoded.find((d) => d.index + 1 === Number(frame));
    const bad = r !== undefined && r.error !== null && r.error !== 'NO_KEY';
    // Expert info of the Malformed group is what sets _ws.malformed: exactly the options the analyzer rejects.
    assert.is(malformed !== '', bad, `frame ${frame}: malformed in Wireshark's eyes only if the analyzer rejects the option`);
    assert.is(builtin, '', `frame ${frame}: the built-in PDM dissector stays out`);
    if (!r || (!r.option && !r.error)) {
      assert.is(format, '', `frame ${frame}: no PDM`);
      continue;
    }
    if (bad) {
      assert.match(expert!, r.error === 'BAD_LENGTH' ? 'PDM option length is none of' : 'PDMv2 version is not 2', `frame ${frame}`);
      continue;
    }
    const o = r.option!;
    assert.is(format, FORMAT_NAMES[o.format], `frame ${frame}`);
    assert.is(Number(psntp), o.psntp, `frame ${frame} psntp`);
    if (o.format === 'pdmv2-encrypted') {
      assert.is(psnlr, '', 'encrypted: PSNLR is not in clear');
      assert.is(Number(epoch), o.epoch);
      assert.match(expert!, 'Metrics are encrypted');
      continue;
    }
    assert.is(Number(psnlr), o.psnlr, `frame ${frame} psnlr`);
    assert.ok(Math.abs(Number(dtlr) - r.deltaTlrNs!) < 1e-3, `frame ${frame} dtlr ${dtlr} vs ${r.deltaTlrNs}`);
    if (o.format === 'pdmv2-clear' && r.index === frames.length - 2) assert.match(expert!, 'Reserved bits are not zero');
  }
  const reservedRow = rows[all.length + 2]!;
  assert.match(reservedRow[6]!, 'Reserved bits are not zero');
  // Filterable: one client PSN across every form that has it.
  assert.is(tshark(capture, ['frame.number'], 'pdmv2.psntp == 1002').length, 4);
  assert.is(tshark(capture, ['frame.number'], 'pdmv2.malformed.length || pdmv2.malformed.version').length, 2);
});

test('decrypt export: same frame lengths, only the opened options changed, metrics in clear for tshark and the analyzer', () => {
  const out = join(dir, 'decrypted.pcap');
  const r = cli(['decrypt', capture, out, '--keys', keyFile]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, `${frames.length} packets, 10 encrypted options: 10 opened and written in clear, 0 TAG_MISMATCH, 0 NO_KEY`);
  const before = readFileSync(capture);
  const after = readFileSync(out);
  assert.is(after.length, before.length);
  const a = readPcap(before);
  const b = readPcap(after);
  let changed = 0;
  a.forEach((p, i) => {
    const q = b[i]!;
    assert.is(q.data.length, p.data.length);
    const diff: number[] = [];
    for (let k = 0; k < p.data.length; k++) if (p.data[k] !== q.data[k]) diff.push(k);
    if (diff.length === 0) return;
    changed++;
    // Only the option's length octet and what follows its clear part (Version|Epoch and PSNTP stay); it starts
    // after Ethernet, IPv6, the header's first 2 octets and PadN(0).
    const start = 14 + 40 + 4;
    assert.ok(diff.every((k) => k === start + 1 || (k >= start + 8 && k < start + 36)), `frame ${i + 1}: changes at ${diff.join(',')}`);
  });
  assert.is(changed, 10);

  const rows = tshark(out, ['frame.number', 'pdmv2.format', 'pdmv2.psnlr', 'pdmv2.dtlr_ns', 'pdmv2.dtls_ns', '_ws.malformed'], 'udp.srcport == 40004 || udp.dstport == 40004');
  assert.is(rows.length, 10);
  for (const row of rows) {
    assert.is(row[1], 'PDMv2 (clear)');
    assert.is(row[5], '');
  }
  // The metrics tshark now reads are the ones the analyzer opens with the keys.
  const opened = JSON.parse(cli(['decode', capture, '--json', '--keys', keyFile]).stdout) as DecodedRecord[];
  for (const row of rows) {
    const rec = opened.find((d) => d.index + 1 === Number(row[0]))!;
    assert.is(Number(row[2]), rec.option!.psnlr);
    assert.ok(Math.abs(Number(row[3]) - rec.deltaTlrNs!) < 1e-3);
  }
  // And the flow report of the export without keys equals the encrypted capture's with keys.
  const withKeys = JSON.parse(cli(['flows', capture, '--json', '--keys', keyFile]).stdout) as AnalysisReport;
  const exported = JSON.parse(cli(['flows', out, '--json']).stdout) as AnalysisReport;
  const enc = withKeys.flows.find((f) => f.clientPort === 40004)!;
  const dec = exported.flows.find((f) => f.clientPort === 40004)!;
  assert.equal(dec.formats, ['pdmv2-clear']);
  assert.equal({ ...dec, formats: null }, { ...enc, formats: null });
  assert.is(withKeys.decryption!.opened, 10);
});

test('decrypt export with a wrong key file leaves the options sealed and says so', () => {
  const wrong = JSON.parse(readFileSync(keyFile, 'utf8')) as { keys: Array<{ sgs: string }> };
  wrong.keys[0]!.sgs = 'ab'.repeat(32);
  writeFileSync(join(dir, 'wrong.json'), JSON.stringify(wrong));
  const out = join(dir, 'wrong.pcap');
  const r = cli(['decrypt', capture, out, '--keys', join(dir, 'wrong.json')]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, '0 opened and written in clear, 10 TAG_MISMATCH');
  assert.equal(readFileSync(out), readFileSync(capture));
  const usage = cli(['decrypt', capture, out]);
  assert.is(usage.code, 2, 'keys are required');
});

// The C decryption plugin (analyzer/wireshark/decrypt/), built and installed with the Lua dissector as a user does.
let plugins: PluginTshark | null = null;
function pluginTshark(file: string, keys: string | undefined, fields: string[], filter?: string): { rows: string[][]; stderr: string } {
  if (!plugins) {
    const p = installPlugins();
    if (typeof p === 'string') assert.unreachable(p);
    plugins = p as PluginTshark;
  }
  const args = ['-T', 'fields', '-E', 'separator=\t', '-E', 'occurrence=a', '-E', 'aggregator=|'];
  for (const f of fields) args.push('-e', f);
  if (filter) args.push('-Y', filter);
  const r = plugins.run(file, args, keys === undefined ? undefined : plugins.keyFile(keys));
  assert.is(r.code, 0, `tshark: ${r.stderr}`);
  return { rows: r.stdout.split('\n').filter((l) => l !== '').map((l) => l.split('\t')), stderr: r.stderr };
}

test('decryption plugin: tshark opens every encrypted option with the key file, with the analyzer values, filterable', () => {
  const opened = JSON.parse(cli(['decode', capture, '--json', '--keys', keyFile]).stdout) as Array<DecodedRecord & { decryption?: string; key?: string }>;
  const encrypted = opened.filter((d) => d.option?.format === 'pdmv2-clear' && d.decryption === 'ok');
  assert.is(encrypted.length, 10);
  const { rows, stderr } = pluginTshark(capture, keyFile, ['frame.number', 'pdmv2_decrypt.status', 'pdmv2_decrypt.key', 'pdmv2.psnlr', 'pdmv2.gp', 'pdmv2.dtlr_ns', 'pdmv2.dtls_ns', '_ws.malformed', '_ws.col.Info']);
  assert.not.match(stderr, /error|pdmv2-decrypt:/i, 'plugins load, key file read');
  assert.is(rows.length, frames.length);
  for (const rec of encrypted) {
    const [, status, key, psnlr, gp, dtlr, dtls, malformed, info] = rows[rec.index]!;
    const o = rec.option as unknown as { psnlr: number; globalPointer: number };
    assert.is(status, 'ok', `frame ${rec.index + 1}`);
    assert.is(key, '00000000000000a1/1');
    assert.is(Number(psnlr), o.psnlr, `frame ${rec.index + 1} psnlr`);
    assert.is(Number(gp), o.globalPointer);
    assert.ok(Math.abs(Number(dtlr) - rec.deltaTlrNs!) < 1e-3, `frame ${rec.index + 1} dtlr ${dtlr} vs ${rec.deltaTlrNs}`);
    assert.ok(dtls !== '', 'dtls decoded');
    assert.is(malformed, '');
    assert.match(info!, `[decrypted psnlr=${o.psnlr} `);
  }
  // Frames without an encrypted option get nothing from the plugin.
  assert.is(rows.filter((r) => r[1] !== '').length, 10);
  // One filter covers clear and opened options: client PSNLR 1002... is in the v1, clear, draft and encrypted flows.
  const server = opened.filter((d) => d.option && (d.option as { psnlr?: number }).psnlr === 1002).map((d) => String(d.index + 1));
  assert.is(server.length, 4);
  assert.equal(pluginTshark(capture, keyFile, ['frame.number'], 'pdmv2.psnlr == 1002').rows.map((r) => r[0]), server);
  const slow = encrypted.filter((d) => d.deltaTlrNs! > 1e6).map((d) => String(d.index + 1));
  assert.ok(slow.length > 0 && slow.length < 10);
  assert.equal(pluginTshark(capture, keyFile, ['frame.number'], 'pdmv2_decrypt.status == "ok" && pdmv2.dtlr_ns > 1000000').rows.map((r) => r[0]), slow);
  // Without the preference the options stay sealed, and the plugin says there is no key file.
  const none = pluginTshark(capture, undefined, ['pdmv2_decrypt.status', 'pdmv2.psnlr'], 'udp.port == 40004').rows;
  assert.equal(none.map((r) => r.join(',')), new Array<string>(10).fill('NO_KEY_FILE,'));
});

test('decryption plugin: wrong keys give TAG_MISMATCH, another generation NO_KEY, a bad key file a clear message', () => {
  const wrong = JSON.parse(readFileSync(keyFile, 'utf8')) as { keys: Array<{ sgs: string; generation: number }> };
  wrong.keys[0]!.sgs = 'cd'.repeat(32);
  writeFileSync(join(dir, 'plugin-wrong.json'), JSON.stringify(wrong));
  const mismatch = pluginTshark(capture, join(dir, 'plugin-wrong.json'), ['pdmv2_decrypt.status', 'pdmv2.psnlr', '_ws.expert.message'], 'udp.port == 40004').rows;
  assert.is(mismatch.length, 10);
  for (const [status, psnlr, expert] of mismatch) {
    assert.equal([status, psnlr], ['TAG_MISMATCH', '']);
    assert.match(expert!, 'No key of the key file opens this option');
  }
  wrong.keys[0]!.generation = 2;
  writeFileSync(join(dir, 'plugin-gen2.json'), JSON.stringify(wrong));
  const noKey = pluginTshark(capture, join(dir, 'plugin-gen2.json'), ['pdmv2_decrypt.status'], 'udp.port == 40004').rows;
  assert.equal(noKey.map((r) => r[0]), new Array<string>(10).fill('NO_KEY'));
  for (const [name, text, message] of [
    ['bad-hex.json', readFileSync(keyFile, 'utf8').replace(/"sgs":"[0-9a-f]{4}/, '"sgs":"zzzz'), 'generation 1: "sgs" is not 64 hex digits'],
    ['sealed.bin', '\x01\x05sealed', 'a sealed key file: open it with pdmv2-analyze'],
    ['not-json.txt', 'hello', 'not an analyzer key file'],
  ] as const) {
    writeFileSync(join(dir, name), text, 'latin1');
    const r = pluginTshark(capture, join(dir, name), ['pdmv2_decrypt.status', '_ws.expert.message'], 'udp.port == 40004');
    assert.match(r.stderr, `pdmv2-decrypt: `);
    assert.match(r.stderr, message);
    assert.equal(r.rows.map((row) => row[0]), new Array<string>(10).fill('KEY_FILE_ERROR'), name);
    assert.match(r.rows[0]![1]!, 'not loaded');
  }
});

test.run();
