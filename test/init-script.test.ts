// The init script's reload (firmware/files/etc/init.d/pdmv2) run by the lab's
// rc.common/procd stand-in (test/luci-standin/rc.common) against the real
// agent on real qjs: what LuCI's Save & Apply triggers. The agent needs no
// primary here: with an unreachable primary URL it keeps running and retrying.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO, tempDir } from '../primary/test/harness.js';

const INIT = join(REPO, 'firmware', 'files', 'etc', 'init.d', 'pdmv2');
const RC = join(REPO, 'test', 'luci-standin', 'rc.common');
const QJS = join(REPO, 'build', 'qjs');
const BUNDLE = join(REPO, '.build', 'qjs', 'pdmv2d.min.mjs');

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Box {
  dir: string;
  env: NodeJS.ProcessEnv;
  init: string;
  cleanup(): void;
}

/** A configuration directory, the init script pointed at a pdmv2d wrapper, the procd stand-in's state. */
function box(enabled: boolean): Box {
  const t = tempDir('init');
  const dir = t.dir;
  mkdirSync(join(dir, 'config'));
  writeFileSync(
    join(dir, 'config', 'pdmv2'),
    [
      "config pdmv2 'main'",
      `\toption enabled '${enabled ? 1 : 0}'`,
      "\toption primary_url 'http://127.0.0.1:9'",
      `\toption primary_key '${'ab'.repeat(32)}'`,
      "\tlist prefix '2001:db8:1::/64'",
      `\toption state_dir '${join(dir, 'state')}'`,
      `\toption run_dir '${join(dir, 'run')}'`,
      `\toption control '${join(dir, 'control')}'`,
      "\toption nft '-'",
      `\toption nft_file '${join(dir, 'pdmv2.nft')}'`,
      "\toption http_client 'curl'",
      "\toption http_timeout '1'",
      '',
    ].join('\n'),
  );
  writeFileSync(join(dir, 'control'), '');
  const wrapper = join(dir, 'pdmv2d');
  writeFileSync(wrapper, `#!/bin/sh\nexec ${QJS} --std -m ${BUNDLE} "$@"\n`);
  chmodSync(wrapper, 0o755);
  const init = join(dir, 'init.d-pdmv2');
  writeFileSync(init, readFileSync(INIT, 'utf8').replace(/^PROG=.*$/m, `PROG=${wrapper}`));
  const env = { ...process.env, UCI_CONFIG_DIR: join(dir, 'config'), PROCD_STANDIN_DIR: join(dir, 'procd'), PDMV2_CONFIG: join(dir, 'config', 'pdmv2') };
  return {
    dir,
    env,
    init,
    cleanup: () => {
      try {
        execFileSync('sh', [RC, init, 'stop'], { env, timeout: 20000 });
      } finally {
        t.cleanup();
      }
    },
  };
}

function rc(b: Box, action: string): void {
  execFileSync('sh', [RC, b.init, action], { env: b.env, timeout: 20000, stdio: 'ignore' });
}

function daemonPid(b: Box): number | null {
  const f = join(b.dir, 'procd', 'init.d-pdmv2.pid');
  if (!existsSync(f)) return null;
  const pid = Number(readFileSync(f, 'utf8').trim());
  try {
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

async function until(f: () => boolean, ms: number): Promise<boolean> {
  for (const t0 = Date.now(); Date.now() - t0 < ms; await sleep(50)) if (f()) return true;
  return f();
}

test('reload of an enabled service with no daemon starts one, and it survives (no SIGHUP before its handler)', async () => {
  const b = box(true);
  try {
    rc(b, 'reload');
    const pid = daemonPid(b);
    assert.ok(pid, 'a daemon was started');
    assert.ok(await until(() => existsSync(join(b.dir, 'run', 'pdmv2d.pid')), 15000), 'the daemon wrote its pid file');
    await sleep(1000);
    assert.is(daemonPid(b), pid, 'the daemon the reload started still runs');
  } finally {
    b.cleanup();
  }
});

test('reload of a running daemon sends SIGHUP: it rereads the configuration and keeps running', async () => {
  const b = box(true);
  try {
    rc(b, 'start');
    assert.ok(await until(() => existsSync(join(b.dir, 'run', 'pdmv2d.pid')), 15000), 'started');
    const pid = daemonPid(b);
    writeFileSync(join(b.dir, 'config', 'pdmv2'), readFileSync(join(b.dir, 'config', 'pdmv2'), 'utf8').replace("option enabled '1'", "option enabled '0'"));
    rc(b, 'reload');
    assert.ok(await until(() => /"status":"disabled"/.test(readFileSync(join(b.dir, 'run', 'status.json'), 'utf8')), 15000), 'the daemon took the reload: disabled');
    assert.is(daemonPid(b), pid, 'same daemon');
    assert.match(readFileSync(join(b.dir, 'control'), 'utf8'), /mode off\nkeyflush\n$/, 'disabled: the kernel was wiped');
  } finally {
    b.cleanup();
  }
});

test.run();
