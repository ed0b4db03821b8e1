// Writes test/vectors/pdmv2-options.json and pdmv2-keys.json from the TypeScript
// core. `--check` compares instead of writing and exits 1 on any difference.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildOptionVectors } from '../core/src/vectors/options.js';
import { buildKeyVectors } from '../core/src/vectors/keys.js';
import { repoRoot } from './repo-root.js';

const files: Array<[string, unknown]> = [
  ['pdmv2-options.json', buildOptionVectors()],
  ['pdmv2-keys.json', buildKeyVectors()],
];
const check = process.argv.includes('--check');
let stale = 0;
for (const [name, content] of files) {
  const path = join(repoRoot(), 'test', 'vectors', name);
  const text = `${JSON.stringify(content, null, 2)}\n`;
  if (check) {
    let current = '';
    try {
      current = readFileSync(path, 'utf8');
    } catch {
      current = '';
    }
    if (current !== text) {
      console.error(`${path} is out of date: run npm run vectors`);
      stale++;
    }
  } else {
    writeFileSync(path, text);
    console.log(`wrote ${path}`);
  }
}
process.exit(stale === 0 ? 0 : 1);
