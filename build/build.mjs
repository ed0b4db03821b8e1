#!/usr/bin/env node
// Build step shared by the tests, the benchmarks and the demo:
//  1. tsc type-checks everything and emits Node ES modules to .build/node
//     (tests run on what the compiler produced, so a type error fails the run);
//  2. tsc checks the pure core again with no Node types at all;
//  3. esbuild bundles the QuickJS entries into single ES modules in .build/qjs.
import { execFileSync } from 'node:child_process';
import { mkdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleQjs } from './esbuild-qjs.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const tsc = join(root, 'node_modules', '.bin', 'tsc');

function run(cmd, args) {
  try {
    execFileSync(cmd, args, { cwd: root, stdio: 'inherit' });
  } catch {
    console.error(`build failed: ${cmd.split('/').pop()} ${args.join(' ')}`);
    process.exit(1);
  }
}

run(tsc, ['-p', 'tsconfig.json']);
run(tsc, ['-p', 'core/tsconfig.json']);

export const qjsEntries = {
  'selfcheck': 'test/qjs/selfcheck.ts',
  'bench': 'test/bench/core-bench.ts',
  'agent-core': 'firmware/src/agent-core.ts',
  'polyfills-check': 'test/qjs/polyfills-check.ts',
  'pdmv2d': 'firmware/src/pdmv2d.ts',
  'agent-check': 'test/qjs/agent-check.ts',
  // the lab's stand-in for uhttpd's ubus endpoint and rpcd (docs/luci.md)
  'luci-standin-ubus': 'test/luci-standin/ubus-cgi.ts',
};

mkdirSync(join(root, '.build', 'qjs'), { recursive: true });
for (const [name, entry] of Object.entries(qjsEntries)) {
  for (const minify of [false, true]) {
    const outfile = join(root, '.build', 'qjs', `${name}${minify ? '.min' : ''}.mjs`);
    await bundleQjs(join(root, entry), outfile, minify);
    if (minify) console.log(`bundle ${name}.min.mjs: ${statSync(outfile).size} bytes`);
  }
}
