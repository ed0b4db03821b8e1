// esbuild options for a QuickJS bundle (one ES module, QuickJS's built-in
// modules left as imports), shared by build/build.mjs and by the OpenWrt
// package's build (build/bundle-agent.mjs, called from firmware/Makefile).
import { build } from 'esbuild';

/** QuickJS built-in modules stay imports; everything else is bundled. */
export const qjsExternal = ['qjs:std', 'qjs:os', 'std', 'os'];

export function bundleQjs(entry, outfile, minify) {
  return build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    mainFields: ['module', 'main'],
    external: qjsExternal,
    minify,
    legalComments: minify ? 'none' : 'inline',
    logLevel: 'warning',
  });
}
