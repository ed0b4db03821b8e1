/// <reference types="node" />
/**
 * HPKE known-answer-test runner (Node CLI).
 *
 *   node .build/node/build/kat.js [--skip-unsupported] FILE...
 *
 * Each FILE is a JSON array in the RFC 9180 test-vector format. Prints one line per failure,
 * then exactly "N passed, M failed" (plus ", K skipped" when K > 0). A file that cannot be
 * read, is not JSON or is not an array prints a message and counts as one failure.
 * Exit status: 0 all passed, 1 any failure, 2 usage error.
 */

import { readFileSync } from 'node:fs';
import { checkHpkeVectors } from '../core/src/hpke/known-answers.js';

function main(argv: string[]): number {
  let skipUnsupported = false;
  const files: string[] = [];
  for (const arg of argv) {
    if (arg === '--skip-unsupported') skipUnsupported = true;
    else if (arg === '-h' || arg === '--help') {
      process.stdout.write('usage: kat [--skip-unsupported] FILE...\n');
      return 0;
    } else if (arg.startsWith('--')) {
      process.stderr.write(`kat: unknown option ${arg}\nusage: kat [--skip-unsupported] FILE...\n`);
      return 2;
    } else files.push(arg);
  }
  if (files.length === 0) {
    process.stderr.write('usage: kat [--skip-unsupported] FILE...\n');
    return 2;
  }

  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const file of files) {
    let entries: unknown;
    try {
      entries = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      const what = e instanceof SyntaxError ? 'invalid JSON' : 'cannot read file';
      console.log(`${file}: ${what}: ${(e as Error).message}`);
      failed++;
      continue;
    }
    if (!Array.isArray(entries)) {
      console.log(`${file}: expected a JSON array of test vectors, got ${entries === null ? 'null' : typeof entries}`);
      failed++;
      continue;
    }
    const report = checkHpkeVectors(entries, { skipUnsupported });
    for (const line of report.failures) console.log(`${file}: ${line}`);
    passed += report.passed;
    failed += report.failed;
    skipped += report.skipped;
  }
  console.log(`${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}`);
  return failed > 0 ? 1 : 0;
}

process.exitCode = main(process.argv.slice(2));
