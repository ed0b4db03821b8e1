// Output of the lab's host-side checks (check-captures.ts, check-encrypted.ts):
// one "ok - NAME (detail)" / "not ok - NAME (detail)" line per check, "# ..."
// lines for information, and a last line "N passed, M failed" (qemu/lab.sh
// adds those up); the exit status is 1 on any failure.

let passed = 0;
let failed = 0;

export function check(name: string, ok: boolean, detail = ''): void {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? 'ok' : 'not ok'} - ${name}${detail ? ` (${detail})` : ''}`);
}

export const info = (text: string): void => console.log(`# ${text}`);

/** Print "N passed, M failed" and exit: 0 when nothing failed, else 1. */
export function finish(): never {
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}
