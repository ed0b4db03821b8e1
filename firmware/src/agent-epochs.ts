// The module's epoch memory, carried across a reload of the module (docs/agent.md
// "Epoch memory", PROTOCOL.md §5.3). The module remembers, per pairing, which epochs
// its flows took in the newest generation, so that a restarted flow never repeats a
// GCM nonce; that memory dies with the module. The agent copies it
// (/proc/net/pdmv2/epochs, lines `epoch PAIRING GEN BASE NEXT`) into run_dir: after
// it wiped the keys when it stops (nothing can take an epoch any more, so the copy is
// complete), and at every check (a copy for an unload it did not see coming). It
// writes the lines back into a module that lacks them before it installs any key.
// run_dir is tmpfs: no flash write; a reboot loses the copy (docs/agent.md says what
// that leaves).
import { readText, writeAtomic } from './agent-sys.js';

export interface EpochRecord {
  /** 16 hex digits */
  readonly pairing: string;
  readonly generation: number;
  /** rekey count of the memory's relative count 0 */
  readonly base: number;
  /** 1 + the highest relative count handed out */
  readonly next: number;
}

/** Largest `next` the module accepts (PDMV2_EPOCH_REL_LIMIT). */
const NEXT_MAX = 255;
const LINE = /^epoch ([0-9a-f]{16}) (\d{1,10}) (\d{1,3}) (\d{1,3})$/;

/** The records of an `epochs` file (the module's or the agent's copy); lines that are not one are skipped. */
export function parseEpochs(text: string): EpochRecord[] {
  const out = new Map<string, EpochRecord>();
  for (const line of text.split('\n')) {
    const m = LINE.exec(line.trim());
    if (!m) continue;
    const r = { pairing: m[1]!, generation: Number(m[2]), base: Number(m[3]), next: Number(m[4]) };
    if (r.generation > 0xffffffff || r.base > 255 || r.next > NEXT_MAX) continue;
    out.set(r.pairing, newer(out.get(r.pairing), r));
  }
  return [...out.values()];
}

/**
 * Of two records of one pairing, the one that says more: the newer generation (an
 * older one is never sent with again); in the same generation at the same base the
 * higher `next`; at another base `b`, the later reading (two module instances'
 * counts cannot be merged: the live instance's is the one that matters).
 */
function newer(a: EpochRecord | undefined, b: EpochRecord): EpochRecord {
  if (!a || b.generation > a.generation) return b;
  if (b.generation < a.generation) return a;
  if (a.base !== b.base) return b;
  return b.next >= a.next ? b : a;
}

/** `saved` updated with a reading of the module: what the module no longer holds is kept. */
export function mergeEpochs(saved: readonly EpochRecord[], module: readonly EpochRecord[]): EpochRecord[] {
  const out = new Map<string, EpochRecord>(saved.map((r) => [r.pairing, r]));
  for (const r of module) out.set(r.pairing, newer(out.get(r.pairing), r));
  return [...out.values()].sort((x, y) => (x.pairing < y.pairing ? -1 : x.pairing > y.pairing ? 1 : 0));
}

/**
 * The saved records a module must be given before its first key: those of pairings it
 * holds no memory of, or only of an older generation (a reloaded module holds none).
 */
export function epochsToRestore(saved: readonly EpochRecord[], module: readonly EpochRecord[]): EpochRecord[] {
  const have = new Map(module.map((r) => [r.pairing, r]));
  return saved.filter((r) => {
    const m = have.get(r.pairing);
    return !m || m.generation < r.generation;
  });
}

export const epochLines = (rs: readonly EpochRecord[]): string[] => rs.map((r) => `epoch ${r.pairing} ${r.generation} ${r.base} ${r.next}`);

export const formatEpochs = (rs: readonly EpochRecord[]): string => `# pairing generation base next (pdmv2d's copy of /proc/net/pdmv2/epochs)\n${epochLines(rs).map((l) => `${l}\n`).join('')}`;

/** The module's `epochs` file beside its control file; null when there is none (module not loaded, or too old). */
export function readModuleEpochs(control: string): EpochRecord[] | null {
  const text = readText(`${control.slice(0, control.lastIndexOf('/'))}/epochs`, 65536);
  return text === null ? null : parseEpochs(text);
}

export const epochsPath = (runDir: string): string => `${runDir}/epochs`;

export function readSavedEpochs(runDir: string): EpochRecord[] {
  return parseEpochs(readText(epochsPath(runDir), 65536) ?? '');
}

/** Merges a reading of the module into the copy in run_dir; writes only when it changes. */
export function saveEpochs(runDir: string, module: readonly EpochRecord[]): void {
  const before = readText(epochsPath(runDir), 65536);
  const text = formatEpochs(mergeEpochs(parseEpochs(before ?? ''), module));
  if (text !== before) writeAtomic(epochsPath(runDir), text, 0o600);
}
