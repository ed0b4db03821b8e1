// Unit checks of the agent's modules on real QuickJS (qjs --std -m): UCI
// parsing and editing, configuration, the ladder KEM against the core's,
// kernel plans and control-file batches, the epoch memory copy, the nft ruleset, atomic files,
// subprocesses with timeouts and limits, HTTP output parsing.
// Prints "N passed, M failed".
import '../../firmware/src/polyfills.js';
import { toHex } from '../../core/src/util/bytes.js';
import { parsePrefix } from '../../core/src/wire/addr.js';
import { fingerprint, MsgType } from '../../core/src/enroll/codec.js';
import type { Grant } from '../../core/src/enroll/messages.js';
import { openRequest, sealRequest } from '../../core/src/enroll/seal.js';
import { createSuite, getKem, KemId } from '../../core/src/hpke/hpke.js';
import { clientPrefixSecret, serverGroupSecret } from '../../core/src/keys/schedule.js';
import { configFromText } from '../../firmware/src/agent-config.js';
import { epochLines, epochsToRestore, formatEpochs, mergeEpochs, parseEpochs } from '../../firmware/src/agent-epochs.js';
import { splitHeaders, statusFromStderr } from '../../firmware/src/agent-http.js';
import { agentKem, agentSuites } from '../../firmware/src/agent-kem.js';
import { batch, CONTROL_MAX, kernelWarnings, kernelWrites, markWriters, nextPlanChange, nftRuleset, nftTableId, NFT_REMOVE, OFF_PLAN, planFromGrant } from '../../firmware/src/agent-kmod.js';
import { clockBehind, emptyState, grantContent } from '../../firmware/src/agent-state.js';
import { createExclusive, mkdirs, pid, readText, removeFile, spawn, stat, writeAtomic } from '../../firmware/src/agent-sys.js';
import { parseUci, setUciOption, tokenize, UciError } from '../../firmware/src/agent-uci.js';
import { exit, print, printError, randomBytes } from '../../firmware/src/qjs-runtime.js';

let passed = 0;
let failed = 0;

const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

function eq(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

async function check(name: string, f: () => void | Promise<void>): Promise<void> {
  try {
    await f();
    passed++;
  } catch (e) {
    failed++;
    printError(`FAIL ${name}: ${e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e)}`);
  }
}

function assert(cond: unknown, msg: string): void {
  if (!cond) throw new Error(msg);
}

function throws(f: () => unknown, re: RegExp): void {
  try {
    f();
  } catch (e) {
    assert(re.test(String((e as Error).message)), `error '${(e as Error).message}' does not match ${re}`);
    return;
  }
  throw new Error(`expected an error matching ${re}`);
}

const UCI = `# comment
package pdmv2

config pdmv2 'main'
	option enabled '1'
	option primary_url "http://[fd00::1]:8600/"
	option primary_key 'AB${'ab'.repeat(31)}'
	option role client
	list prefix '2001:db8:1::/48'
	list prefix 2001:0db8:0002::/48   # trailing comment
	option token 'pdt-aaaa-bbbb-cccc-dddd-eeee-ffff'
	option note 'it'\\''s "quoted"'

config interface
	option name 'x'
`;

async function main(): Promise<void> {
  await check('uci tokenizer and parser', () => {
    assert(eq(tokenize(`option note 'it'\\''s'`), ['option', 'note', "it's"]), 'single quote escape');
    assert(eq(tokenize(`list x "a\\"b" # c`), ['list', 'x', 'a"b']), 'double quotes');
    const s = parseUci(UCI, 'test');
    assert(s.length === 2 && s[0]!.name === 'main' && s[1]!.name === '@interface[0]' && s[1]!.anonymous, 'sections');
    assert(s[0]!.options.note === `it's "quoted"`, `note: ${s[0]!.options.note}`);
    assert(eq(s[0]!.lists.prefix, ['2001:db8:1::/48', '2001:0db8:0002::/48']), 'lists');
    throws(() => parseUci("option x 'y'\n", 'f'), /f:1: 'option' outside/);
    throws(() => parseUci("config x\n\toption y 'z\n", 'f'), /unterminated/);
    throws(() => parseUci('config x\n\tfrobnicate a b\n', 'f'), /unknown keyword/);
    assert(new UciError('a', 3, 'm').message === 'a:3: m', 'error format');
  });

  await check('uci editor keeps everything else', () => {
    const t1 = setUciOption(UCI, 'main', 'enabled', '0');
    assert(t1.includes("\toption enabled '0'") && !t1.includes("option enabled '1'"), 'replaced');
    assert(t1.startsWith('# comment\npackage pdmv2\n'), 'comments kept');
    assert(t1.split('\n').length === UCI.split('\n').length, 'no lines added or lost');
    const t2 = setUciOption(UCI, 'main', 'mode', "clear'x");
    assert(t2.includes(`\toption mode 'clear'\\''x'`), 'inserted and quoted');
    assert(parseUci(t2)[0]!.options.mode === "clear'x", 'round trip');
    throws(() => setUciOption(UCI, 'nope', 'a', 'b'), /no section/);
  });

  await check('configuration: values, defaults and errors', () => {
    const c = configFromText(UCI, '/etc/config/pdmv2');
    assert(c.errors.length === 0, c.errors.join('; '));
    assert(c.primaryUrl === 'http://[fd00::1]:8600', c.primaryUrl);
    assert(toHex(c.primaryKey!) === `ab${'ab'.repeat(31)}`, 'key lowercased');
    assert(eq(c.prefixes, ['2001:db8:1::/48', '2001:db8:2::/48']), 'canonical prefixes');
    assert(c.token === 'aaaabbbbccccddddeeeeffff', `token ${c.token}`);
    assert(c.control === '/proc/net/pdmv2/control' && c.stateDir === '/etc/pdmv2' && c.nftFile === '/var/run/pdmv2/pdmv2.nft', 'defaults');
    assert(c.mark === 0x01000000 && c.checkInterval === 30 && c.mode === 'encrypted' && c.enabled, 'defaults 2');
    const bad = configFromText("config pdmv2 'main'\n\toption role 'router'\n\tlist prefix '2001:db8::1/32'\n\toption mark 'x'\n\toption control 'rel'\n", 'f');
    for (const re of [/primary_url/, /primary_key/, /role 'router'/, /host bits/, /mark 'x'/, /control must be an absolute/]) {
      assert(bad.errors.some((e) => re.test(e)), `missing error ${re}: ${bad.errors.join('; ')}`);
    }
    assert(configFromText('', 'f').errors.some((e) => /no 'config pdmv2 main'/.test(e)), 'no section');
  });

  await check('ladder KEM = core KEM, and interoperates through HPKE', () => {
    const pure = getKem(KemId.DhkemX25519HkdfSha256);
    for (let i = 0; i < 3; i++) {
      const r = pure.generateKeyPair(randomBytes);
      const s = pure.generateKeyPair(randomBytes);
      assert(toHex(agentKem.publicKeyOf(r.privateKey)) === toHex(r.publicKey), 'public key');
      const ikm = randomBytes(32);
      const a = pure.authEncap(r.publicKey, s.privateKey, { ikm });
      const b = agentKem.authEncap(r.publicKey, s.privateKey, { ikm });
      assert(toHex(a.enc) === toHex(b.enc) && toHex(a.sharedSecret) === toHex(b.sharedSecret), 'authEncap');
      assert(toHex(agentKem.authDecap(a.enc, r.privateKey, s.publicKey)) === toHex(a.sharedSecret), 'authDecap');
    }
    const dev = agentKem.generateKeyPair(randomBytes);
    const prim = agentKem.generateKeyPair(randomBytes);
    const env = sealRequest({
      type: MsgType.EnrollRequest,
      suite: { kem: 0x20, kdf: 1, aead: 3 },
      senderSk: dev.privateKey,
      senderPk: dev.publicKey,
      recipientPk: prim.publicKey,
      plaintext: Uint8Array.of(1, 2, 3),
      random: randomBytes,
      suites: agentSuites,
    });
    assert(eq([...openRequest(MsgType.EnrollRequest, env, prim.privateKey).plaintext], [1, 2, 3]), 'pure opens ladder-sealed');
    throws(() => agentKem.encap(new Uint8Array(32), randomBytes), /VALIDATION/);
    assert(createSuite(0x20, 1, 3).kem.id === agentKem.id, 'same id');
    assert(fingerprint(dev.publicKey).length === 29, 'fingerprint');
  });

  const pms = randomBytes(32);
  const sgs = (g: number) => serverGroupSecret(pms, g);
  const cs = (g: number, p: string) => toHex(clientPrefixSecret(sgs(g), parsePrefix(p)));
  const base = { fingerprint: 'AAAA-AAAA-AAAA-AAAA-AAAA-AAAA', mode: 'encrypted' as const, issued: 1000, expires: 5000, renew_after: 2000 };
  const clientGrant: Grant = {
    ...base,
    role: 'client',
    prefixes: ['2001:db8:1::/48'],
    pairings: [
      {
        id: '0123456789abcdef',
        aead: 1,
        peer_prefixes: ['2001:db8:ff::/48'],
        keys: [
          { generation: 4, not_before: 900, not_after: 4000, secrets: [{ prefix: '2001:db8:1::/48', secret: cs(4, '2001:db8:1::/48') }] },
          { generation: 5, not_before: 3000, not_after: 5000, secrets: [{ prefix: '2001:db8:1::/48', secret: cs(5, '2001:db8:1::/48') }] },
        ],
      },
    ],
  };

  await check('kernel plan: active generation, activation, expiry, local clear mode', () => {
    const p1 = planFromGrant(clientGrant, 'encrypted', 1500);
    assert(p1.mode === 'encrypted' && eq(p1.active, [{ pairing: '0123456789abcdef', generation: 4 }]), 'gen 4 active');
    assert(p1.keys.length === 2, 'both keys loaded');
    const p2 = planFromGrant(clientGrant, 'encrypted', 3500);
    assert(eq(p2.active.map((a) => a.generation), [5]), 'gen 5 active after its start');
    const p3 = planFromGrant(clientGrant, 'encrypted', 4500);
    assert(eq(p3.keys.map((k) => k.generation), [5]), 'gen 4 expired');
    assert(planFromGrant(clientGrant, 'encrypted', 5000).mode === 'off', 'grant expired');
    const clear = planFromGrant(clientGrant, 'clear', 1500);
    assert(clear.mode === 'clear' && clear.keys.length === 0 && clear.peers.length === 0, 'clear: the mode only');
    assert(eq(kernelWrites(OFF_PLAN, clear), ['mode clear\n']), 'clear: one line the module knows today');
    assert(nextPlanChange(clientGrant, 1500) === 3000 && nextPlanChange(clientGrant, 3500) === 4000, 'next change');
  });

  await check('status warnings from the module counters: flowtable bypass, the module-wide limit, the GSO offload held by another module', () => {
    assert(eq(kernelWarnings({ inserted: 5, flows_offloaded: 0, table_full_module: 0 }), []), 'nothing to say');
    assert(eq(kernelWarnings({}), []), 'an older module without the counters');
    const w = kernelWarnings({ flows_offloaded: 3, table_full_module: 7 });
    assert(w.length === 2, 'one line each');
    assert(w[0]!.startsWith('3 measured flow(s) taken past pdmv2 by a flowtable') && w[0]!.includes('flow_offloading=0'), w[0]!);
    assert(w[1]!.startsWith('7 packet(s) without the option') && w[1]!.includes('max_flows_total'), w[1]!);
    const g = kernelWarnings({ gso_wrapper_refused: 2, gso_wrapper_installed: 0 });
    assert(g.length === 1 && g[0]!.startsWith('another kernel module holds the IPv6 GSO offload'), g.join('|'));
    assert(eq(kernelWarnings({ gso_wrapper_refused: 2, gso_wrapper_installed: 1 }), []), 'refused once, installed since');
  });

  await check('kernel plan: server role hands the module the SGS and the client prefixes, and no peers', () => {
    const g: Grant = {
      ...base,
      role: 'server',
      prefixes: [],
      pairings: [{ id: '0123456789abcdef', aead: 2, peer_prefixes: ['2001:db8:1::/48', '2001:db8:2::/64'], keys: [{ generation: 4, not_before: 900, not_after: 4000, sgs: toHex(sgs(4)) }] }],
    };
    const p = planFromGrant(g, 'encrypted', 1500);
    assert(eq(p.keys.map((k) => [k.kind, k.kind === 'sgs' ? k.prefixes : [], k.secret, k.aead]), [['sgs', ['2001:db8:1::/48', '2001:db8:2::/64'], toHex(sgs(4)), 2]]), 'server keys');
    assert(p.peers.length === 0, 'server role: the client prefixes identify the pairing, no peers');
    const lines = kernelWrites(OFF_PLAN, p).join('').trim().split('\n');
    assert(eq(lines, [`sgs 0123456789abcdef 4 2 ${toHex(sgs(4))} 2001:db8:1::/48 2001:db8:2::/64`, 'active 0123456789abcdef 4', 'mode encrypted']), `server lines: ${JSON.stringify(lines)}`);
    const wide: Grant = { ...g, pairings: [{ ...g.pairings[0]!, peer_prefixes: Array.from({ length: 20 }, (_, i) => `2001:db8:${(i + 1).toString(16)}::/48`) }] };
    const wl = kernelWrites(OFF_PLAN, planFromGrant(wide, 'encrypted', 1500));
    assert(wl.every((w) => w.length <= 1024), 'every write within the module limit');
    const sgsLines = wl.join('').split('\n').filter((l) => l.startsWith('sgs '));
    assert(sgsLines.length === 2 && sgsLines.every((l) => l.split(' ').length <= 5 + 16), 'prefixes split over two sgs lines');
  });

  await check('control writes: order, removals, batches within the module limit', () => {
    const w = kernelWrites(OFF_PLAN, planFromGrant(clientGrant, 'encrypted', 1500)).join('');
    const lines = w.trim().split('\n');
    assert(lines[0]!.startsWith('key 0123456789abcdef 4 1 2001:db8:1::/48 '), lines[0]!);
    assert(lines[lines.length - 1] === 'mode encrypted', 'mode last');
    assert(lines.indexOf('active 0123456789abcdef 4') > lines.indexOf('peer 0123456789abcdef 2001:db8:ff::/48'), 'active after keys/peers');
    const later = kernelWrites(planFromGrant(clientGrant, 'encrypted', 1500), planFromGrant(clientGrant, 'encrypted', 4500)).join('');
    assert(later.includes('unkey 0123456789abcdef 4\n'), 'expired generation removed');
    const off = kernelWrites(planFromGrant(clientGrant, 'encrypted', 1500), OFF_PLAN);
    assert(eq(off, ['mode off\nkeyflush\n']), `switch off: ${JSON.stringify(off)}`);
    const many = batch(Array.from({ length: 40 }, (_, i) => `key ${'x'.repeat(100)} ${i}`));
    assert(many.length > 1 && many.every((b) => b.length <= CONTROL_MAX && b.endsWith('\n')), 'batches');
    assert(many.join('').split('\n').length === 41, 'no line lost');
  });

  await check('epoch memory: parse, merge with a reading, what a reloaded module is given back', () => {
    const P = '00000000000000a1';
    const Q = '00000000000000b2';
    const module = parseEpochs(`# pairing generation base next\nepoch ${P} 7 200 3\nepoch ${Q} 2 5 255\nepoch ${P} 6 1 9\nepoch zz 1 1 1\nepoch ${Q} 2 5 256\nepoch ${Q} 4294967296 1 1\nkey x\n`);
    assert(eq(module, [{ pairing: P, generation: 7, base: 200, next: 3 }, { pairing: Q, generation: 2, base: 5, next: 255 }]), `parsed ${JSON.stringify(module)}`);
    // the copy keeps what the module no longer holds; a newer generation or a higher next wins; another base: the reading
    const saved = [
      { pairing: P, generation: 7, base: 200, next: 5 },
      { pairing: Q, generation: 1, base: 9, next: 40 },
      { pairing: 'c'.repeat(16), generation: 3, base: 0, next: 1 },
    ];
    const merged = mergeEpochs(saved, [...module, { pairing: P, generation: 7, base: 200, next: 4 }]);
    assert(
      eq(merged, [
        { pairing: P, generation: 7, base: 200, next: 5 },
        { pairing: Q, generation: 2, base: 5, next: 255 },
        { pairing: 'c'.repeat(16), generation: 3, base: 0, next: 1 },
      ]),
      `merged ${JSON.stringify(merged)}`,
    );
    assert(eq(mergeEpochs([{ pairing: P, generation: 7, base: 1, next: 50 }], [{ pairing: P, generation: 7, base: 2, next: 1 }]), [{ pairing: P, generation: 7, base: 2, next: 1 }]), 'another base: the live instance');
    assert(eq(parseEpochs(formatEpochs(merged)), merged), 'the copy reads back');
    // a reloaded module (nothing held) gets everything; a module on an older generation of a pairing gets that pairing
    assert(eq(epochsToRestore(merged, []), merged), 'reloaded: all');
    assert(eq(epochsToRestore(merged, merged), []), 'same instance: nothing');
    assert(eq(epochsToRestore(merged, [{ pairing: Q, generation: 1, base: 0, next: 0 }]).map((r) => r.pairing), [P, Q, 'c'.repeat(16)]), 'older generation held');
    assert(eq(epochsToRestore(merged, [{ pairing: P, generation: 8, base: 0, next: 0 }]).map((r) => r.pairing), [Q, 'c'.repeat(16)]), 'newer generation held');
    assert(eq(epochLines([merged[0]!]), [`epoch ${P} 7 200 5`]), 'control line');
  });

  await check('nft ruleset', () => {
    const r = nftRuleset('client', ['2001:db8:1::/48'], ['2001:db8:ff::/48'], 0x100);
    assert(r.includes('table inet pdmv2\ndelete table inet pdmv2\n'), 'replaces itself');
    assert(r.includes('elements = { 2001:db8:1::/48 }') && r.includes('elements = { 2001:db8:ff::/48 }'), 'sets');
    assert(r.includes('ip6 saddr @local6 ip6 daddr @peer6 meta mark set meta mark or 0x00000100'), 'lan to peer');
    assert(r.includes('type route hook output priority mangle'), 'local output');
    const s = nftRuleset('server', [], ['2001:db8:1::/48'], 0x4);
    assert(!s.includes('@local6') && s.includes('ip6 saddr @peer6 meta mark set meta mark or 0x00000004'), 'server rules');
    assert(s.includes('set local6 {\n\t\ttype ipv6_addr; flags interval;\n\t}'), 'empty set without elements');
  });

  await check('nft: content id of the table, as written and as nft lists it; mark writers of other tables', () => {
    const a = nftRuleset('client', ['2001:db8:1::/48'], ['2001:db8:ff::/48'], 0x01000000);
    const b = nftRuleset('client', ['2001:db8:1::/48'], ['2001:db8:fe::/48'], 0x01000000);
    const id = nftTableId(a);
    assert(id !== null && /^[0-9a-f]{8}$/.test(id) && id !== nftTableId(b), `ids ${id} ${nftTableId(b)}`);
    assert(nftTableId(NFT_REMOVE) === null, 'removal: no table');
    // as `nft -t list table inet pdmv2` prints it (nftables 1.0.6)
    const listed = `table inet pdmv2 {\n\tcomment "pdmv2d ${id}"\n\tset local6 {\n\t\ttype ipv6_addr\n\t\tflags interval\n\t}\n}\n`;
    assert(nftTableId(listed) === id, 'listed id');
    assert(nftTableId('table inet pdmv2 {\n\tchain pre {\n\t}\n}\n') === '', 'a table without our comment');
    // as `nft list ruleset` prints them
    const ruleset = [
      'table inet mwan3 {',
      '\tchain mark {',
      '\t\tmeta mark & 0x00003f00 == 0x00000000 meta mark set ct mark & 0x00003f00',
      '\t}',
      '}',
      'table inet sqm {',
      '\tchain c {',
      '\t\tmeta mark set meta mark & 0xffffff01 | 0x00000001',
      '\t\tmeta mark set meta mark | 0x00000002 comment "x"',
      '\t}',
      '}',
      'table inet pdmv2 {',
      '\tchain pre {',
      '\t\tip6 saddr @local6 meta mark set meta mark | 0x01000000',
      '\t}',
      '}',
    ].join('\n');
    const w = markWriters(ruleset);
    assert(eq(w, [{ table: 'inet mwan3', bits: 0xffffffff }, { table: 'inet sqm', bits: 0xff }]), JSON.stringify(w));
  });

  await check('state: flash content of a grant ignores the renewal times; clock behind a saved grant', () => {
    const g = {
      fingerprint: 'F', role: 'client', mode: 'encrypted', prefixes: ['2001:db8:1::/48'], issued: 1000, expires: 9000, renew_after: 2000,
      pairings: [{ id: '00'.repeat(8), aead: 1, peer_prefixes: ['2001:db8:ff::/48'], keys: [] }],
    } as unknown as Grant;
    assert(grantContent({ ...g, issued: 1500, renew_after: 2500 }) === grantContent(g), 'renewal times do not count');
    assert(grantContent({ ...g, expires: 9999 }) !== grantContent(g), 'expiry counts');
    assert(grantContent(null) === 'null', 'no grant');
    const st = { ...emptyState('F', 'k'), grant: g };
    assert(clockBehind(st, 999) && !clockBehind(st, 1000), 'before the issue time: behind');
    assert(!clockBehind({ ...st, clock_source: 'primary' }, 10), 'the primary answered: the offset holds');
    assert(!clockBehind(emptyState('F', 'k'), 0), 'no grant: nothing to judge');
  });

  const dir = `/tmp/pdmv2-agent-check-${pid()}`;
  await check('files: atomic replace, exclusive create, 0600, /proc reads', () => {
    mkdirs(`${dir}/a/b`, 0o700);
    assert(stat(`${dir}/a/b`) !== null, 'mkdirs');
    writeAtomic(`${dir}/f`, 'one', 0o600);
    writeAtomic(`${dir}/f`, 'two', 0o600);
    assert(readText(`${dir}/f`) === 'two', 'replaced');
    assert((stat(`${dir}/f`)!.mode & 0o777) === 0o600, 'mode 0600');
    assert(stat(`${dir}/f.tmp${pid()}`) === null, 'no temp file left');
    assert(createExclusive(`${dir}/k`, 'key', 0o600) && !createExclusive(`${dir}/k`, 'other', 0o600), 'exclusive');
    assert(readText(`${dir}/k`) === 'key', 'not overwritten');
    assert((readText('/proc/self/status') ?? '').includes('VmRSS'), '/proc read');
    assert(readText(`${dir}/missing`) === null, 'missing file');
    for (const f of ['f', 'k', 'a/b', 'a']) removeFile(`${dir}/${f}`);
    removeFile(dir);
    assert(stat(dir) === null, 'cleaned up');
  });

  await check('subprocess: output, exit status, timeout, size limit', async () => {
    const ok = await spawn(['sh', '-c', 'printf hello; printf oops >&2; exit 3'], { timeoutMs: 5000, maxStdout: 100 });
    assert(String.fromCharCode(...ok.stdout) === 'hello' && ok.stderr === 'oops' && ok.code === 3 && ok.killed === null, JSON.stringify(ok));
    const t0 = Date.now();
    const slow = await spawn(['sleep', '5'], { timeoutMs: 200, maxStdout: 100 });
    assert(slow.killed === 'timeout' && slow.signal === 9 && Date.now() - t0 < 2000, JSON.stringify(slow));
    const big = await spawn(['sh', '-c', 'head -c 200000 /dev/zero'], { timeoutMs: 5000, maxStdout: 1000 });
    assert(big.killed === 'too-large', JSON.stringify({ ...big, stdout: big.stdout.length }));
  });

  await check('HTTP output parsing (curl -i, wget -S, uclient-fetch)', () => {
    const raw = bytes('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 429 Too Many\r\nRetry-After: 7\r\nX: y\r\n\r\n\x00\x01');
    const p = splitHeaders(raw)!;
    assert(p.status === 429 && p.headers['retry-after'] === '7' && eq([...p.body], [0, 1]), JSON.stringify(p));
    assert(splitHeaders(bytes('garbage')) === null, 'garbage');
    assert(eq(statusFromStderr('  HTTP/1.1 429 Too Many Requests\n  retry-after: 7\nERROR 429'), { status: 429, retryAfter: 7 }), 'wget -S');
    assert(statusFromStderr('HTTP error 401\n').status === 401, 'uclient-fetch');
    assert(statusFromStderr('wget: server returned error: HTTP/1.1 413 Too Large\n').status === 413, 'busybox wget');
    assert(statusFromStderr('Connection refused').status === null, 'no status');
  });

  print(`${passed} passed, ${failed} failed`);
  exit(failed === 0 && passed > 0 ? 0 : 1);
}

main().catch((e: unknown) => {
  printError(`agent-check: ${e instanceof Error ? `${e.message}\n${e.stack ?? ''}` : String(e)}`);
  exit(2);
});
