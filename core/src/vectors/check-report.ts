/** A tiny pass/fail collector shared by the vector checkers, so Node tests and the QuickJS self-check report alike. */

export interface CheckReport {
  passed: number;
  failed: number;
  failures: string[];
  run(name: string, body: () => void): void;
}

export function newReport(): CheckReport {
  const report: CheckReport = {
    passed: 0,
    failed: 0,
    failures: [],
    run(name, body) {
      try {
        body();
        report.passed++;
      } catch (err) {
        report.failed++;
        report.failures.push(`${name}: ${err instanceof Error ? err.message : String(err)}`);
      }
    },
  };
  return report;
}

export function expectEqual(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, got ${String(actual)}`);
}
