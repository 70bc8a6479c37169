import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadDrill } from '../src/drill-file.js';
import { renderMarkdown } from '../src/report.js';
import { runDrill } from '../src/run-drill.js';
import { repoRoot } from '../src/service-processes.js';

/**
 * The contract rollout in short (chaos/drills/contract-rollout-short.yaml) on its own PostgreSQL
 * and NATS: under order load, dual publishing, the default API version to v2, the consumers to v2
 * events, v1 publishing stopped, token signing to EdDSA, v1 retired. Nothing accepted may be lost
 * or fail, every invariant must hold and every expectation be met — the last one: v1 clients get
 * 410 CONTRACT_VERSION_RETIRED.
 */
describe('contract rollout drill (short)', () => {
  test(
    'when v2 is rolled out and v1 retired under load, then no order fails or is lost, every invariant holds and v1 clients get 410',
    async () => {
      const drill = loadDrill(join(repoRoot, 'chaos/drills/contract-rollout-short.yaml'));
      const lines: string[] = [];
      const report = await runDrill(drill, {
        log: (line) => lines.push(line),
        serviceLog: join(tmpdir(), 'orderly-chaos-contract-rollout-short-services.log'),
      });
      const details = `${renderMarkdown(report)}\nprogress:\n${lines.join('\n')}`;
      expect(report.violations, details).toBe(0);
      expect(report.ok, details).toBe(true);
      expect(report.warnings, details).toEqual([]);
      // Every request the load sent got its order (retries with the same key included).
      expect(report.load.refused + report.load.inDoubt, details).toBe(0);
      expect(report.load.accepted, details).toBe(report.load.offered - report.load.shed);
      const expectations = report.faults.filter((f) => f.expectation);
      expect(
        expectations.map((f) => [f.fault, f.expectation?.met]),
        details,
      ).toEqual([
        ['expect-events', true],
        ['expect-clients', true],
        ['expect-events', true],
        ['expect-clients', true],
      ]);
      const retired = expectations.at(-1)?.expectation;
      expect(retired?.message, details).toMatch(/retired.*version 2/);
    },
    4 * 60_000,
  );
});
