// QuickJS entry of the core benchmark: prints one JSON line per figure.
import '../../firmware/src/polyfills.js';
import * as os from 'os';
import { print, randomBytes } from '../../firmware/src/qjs-runtime.js';
import { runCoreBench } from './bench-core.js';

const qos = os as { now(): number };
for (const r of runCoreBench(() => qos.now(), randomBytes)) print(JSON.stringify({ runtime: 'qjs', ...r }));
