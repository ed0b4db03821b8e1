/// <reference types="node" />
// The smallest QuickJS heap limit (qjs --memory-limit) under which the agent
// still enrolls, renews and answers status, against a real primary on
// 127.0.0.1; the package's wrapper passes memory_limit (default 4M) to qjs.
//
//   node build/build.mjs && node .build/node/test/bench/agent-memory.js
//
// Prints, for each limit tried, whether a daemon got granted and renewed
// twice, and its RSS; and what a too small limit does (the error and exit).
import { readFileSync } from 'node:fs';
import { startPrimary } from '../../primary/src/main.js';
import { tempDir } from '../../primary/test/harness.js';
import { agent, agentDir, daemon, runMain, waitFor, type Cleanups } from '../agent-harness.js';

const CLIENT_P = '2001:db8:1::/48';
const now = (): number => Math.floor(Date.now() / 1000);
const cleanups: Cleanups = [];

async function main(): Promise<void> {
  const t = tempDir('mem-primary');
  cleanups.push(t.cleanup);
  const p = await startPrimary({ db: `${t.dir}/p.db`, key: `${t.dir}/k`, host: '127.0.0.1', port: 0, limits: { rate: 0 }, config: { renewInterval: 2, pendingRetry: 1 } });
  cleanups.push(() => p.close());
  p.store.addPrefix(CLIENT_P, 'client', now());
  const base = `http://127.0.0.1:${p.port}`;
  console.log('agent under qjs --memory-limit (client role, token enrollment, 2 renewals)');
  for (const limit of ['1M', '1500k', '2M', '4M']) {
    const token = (await p.store.createToken({ role: 'client', prefixes: [CLIENT_P], ttl: 600, now: now() })).display;
    const d = agentDir(`mem-${limit}`, { url: base, pk: p.identity.pk, role: 'client', prefixes: [CLIENT_P], token }, cleanups);
    d.qjsArgs = ['--memory-limit', limit];
    const a = daemon(d, cleanups);
    const exited = new Promise<number | null>((r) => a.on('exit', (c) => r(c)));
    const ok = await Promise.race([
      waitFor('two renewals', () => a.log.filter((l) => l.includes('renewed')).length >= 2, 15000).then(() => true, () => false),
      exited.then(() => false),
    ]);
    let rss = '-';
    if (ok && a.pid) rss = `${/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${a.pid}/status`, 'utf8'))![1]} kB`;
    const st = ok ? await agent(d, ['status']) : null;
    a.kill('SIGTERM');
    const code = await exited;
    const err = a.log.filter((l) => /memory|error/i.test(l)).join(' | ');
    console.log(`  ${limit.padEnd(3)} ${ok && st?.code === 0 ? 'granted, renewed twice, status ok' : 'FAILED'}  RSS ${rss}  exit ${code}${ok ? '' : `  ${err.slice(0, 120)}`}`);
  }
}

runMain(main, cleanups);
