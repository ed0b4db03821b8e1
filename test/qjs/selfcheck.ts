// Self-check of the protocol core on QuickJS: every RFC 9180 vector file given,
// the project's own vectors (semantic checks and byte-exact regeneration) and
// randomized round trips. Usage:
//   qjs --std -m selfcheck.mjs --rfc9180 FILE... --options FILE --keys FILE
import '../../firmware/src/polyfills.js';
import { exit, print, printError, randomBytes, readTextFile, scriptArguments } from '../../firmware/src/qjs-runtime.js';
import { runSelfCheck } from '../selfcheck-core.js';

function parseArgs(argv: string[]): { rfc9180: string[]; options: string | null; keys: string | null } {
  const out = { rfc9180: [] as string[], options: null as string | null, keys: null as string | null };
  type Flag = 'rfc9180' | 'options' | 'keys';
  let current: Flag | null = null;
  for (const a of argv) {
    if (a === '--rfc9180' || a === '--options' || a === '--keys') current = a.slice(2) as Flag;
    else if (current === 'rfc9180') out.rfc9180.push(a);
    else if (current === 'options') out.options = a;
    else if (current === 'keys') out.keys = a;
    else throw new Error(`unexpected argument ${a}`);
  }
  return out;
}

try {
  const args = parseArgs(scriptArguments());
  const result = runSelfCheck({
    rfc9180: args.rfc9180.map((path) => ({ path, text: readTextFile(path) })),
    options: args.options === null ? null : readTextFile(args.options),
    keys: args.keys === null ? null : readTextFile(args.keys),
    random: randomBytes,
    log: print,
  });
  for (const f of result.failures) printError(`FAIL ${f}`);
  print(`${result.passed} passed, ${result.failed} failed`);
  exit(result.failed === 0 && result.passed > 0 ? 0 : 1);
} catch (err) {
  printError(`selfcheck: ${err instanceof Error ? `${err.message}\n${err.stack ?? ''}` : String(err)}`);
  exit(2);
}
