// Node entry of the core benchmark: prints one JSON line per figure.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { runCoreBench } from './bench-core.js';

const random = (n: number): Uint8Array => new Uint8Array(randomBytes(n));
for (const r of runCoreBench(() => performance.now(), random)) console.log(JSON.stringify({ runtime: 'node', ...r }));
