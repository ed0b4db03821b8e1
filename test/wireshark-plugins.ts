// The Wireshark plugins as a user installs them (docs/analyzer.md, "Wireshark"):
// the C decryption plugin built against the installed libwireshark
// (analyzer/wireshark/decrypt/Makefile) and the Lua dissector, both put into
// the personal plugin folders of a throwaway home, and a tshark that runs with
// that home. Wireshark loads no personal plugins when run as root, so as root
// tshark runs as nobody; captures and key files are copied into the home,
// readable by that user only.
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const LUA = join(ROOT, 'analyzer/wireshark/pdmv2.lua');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export interface PluginTshark {
  home: string;
  /** A key file or capture as tshark's user can read it (a copy inside the home). */
  keyFile(path: string): string;
  /** tshark ARGS on the capture FILE, with the key file preference when given. */
  run(file: string, args: string[], keys?: string): Run;
}

function asUser(): { uid: number; gid: number } | null {
  if (process.getuid?.() !== 0) return null;
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'nobody'], { encoding: 'utf8' }).stdout.trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Builds and installs both plugins; a string says why it could not. */
export function installPlugins(): PluginTshark | string {
  const home = mkdtempSync(join(tmpdir(), 'pdmv2-wireshark-home-'));
  const build = spawnSync('make', ['-s', '-C', join(ROOT, 'analyzer/wireshark/decrypt'), `OUT=${join(ROOT, '.build/wireshark-decrypt')}`, `PLUGIN_HOME=${home}`, 'install'], {
    encoding: 'utf8',
  });
  if (build.status !== 0) return `building the decryption plugin failed: ${build.stderr || build.error?.message}`;
  const luaDir = join(home, '.local/lib/wireshark/plugins');
  mkdirSync(luaDir, { recursive: true });
  copyFileSync(LUA, join(luaDir, basename(LUA)));
  const user = asUser();
  const r = spawnSync('find', [home, '-type', 'd', '-exec', 'chmod', '0755', '{}', '+'], { encoding: 'utf8' });
  if (r.status !== 0) return `chmod ${home}: ${r.stderr}`;
  chmodSync(home, 0o755);
  const keysDir = join(home, 'keys');
  mkdirSync(keysDir, { mode: 0o700 });
  if (user) chownSync(keysDir, user.uid, user.gid);
  let copies = 0;
  const t: PluginTshark = {
    home,
    keyFile(path: string): string {
      const copy = join(keysDir, `${copies++}-${basename(path)}`);
      copyFileSync(path, copy);
      chmodSync(copy, 0o600);
      if (user) chownSync(copy, user.uid, user.gid);
      return copy;
    },
    run(file: string, args: string[], keys?: string): Run {
      const prefs = keys ? ['-o', `pdmv2_decrypt.keys_file:${keys}`] : [];
      const tshark = ['tshark', '-n', ...prefs, '-r', t.keyFile(file), ...args];
      const cmd = user ? ['setpriv', `--reuid=${user.uid}`, `--regid=${user.gid}`, '--clear-groups', ...tshark] : tshark;
      const res = spawnSync(cmd[0]!, cmd.slice(1), {
        env: { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, '.config') },
        encoding: 'utf8',
        maxBuffer: 1 << 30,
      });
      return { code: res.status ?? -1, stdout: res.stdout ?? '', stderr: res.stderr ?? res.error?.message ?? '' };
    },
  };
  return t;
}
