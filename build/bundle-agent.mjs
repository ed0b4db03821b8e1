#!/usr/bin/env node
// The agent as the OpenWrt package ships it: firmware/src/pdmv2d.ts bundled
// and minified into one ES module for QuickJS.
//   node build/bundle-agent.mjs OUTFILE
// Run by firmware/Makefile (Build/Compile) on the build host; needs the
// repository's node_modules (npm ci), nothing else.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleQjs } from './esbuild-qjs.mjs';

const out = process.argv[2];
if (!out) {
  console.error('usage: node build/bundle-agent.mjs OUTFILE');
  process.exit(2);
}
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
await bundleQjs(join(root, 'firmware', 'src', 'pdmv2d.ts'), out, true);
