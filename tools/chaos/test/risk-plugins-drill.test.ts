import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadDrill } from '../src/drill-file.js';
import { renderMarkdown } from '../src/report.js';
import { runDrill } from '../src/run-drill.js';
import { repoRoot } from '../src/service-processes.js';

/**
 * The risk plugin drill (chaos/drills/risk-plugins.yaml) on its own PostgreSQL and NATS: under order
 * load the risk service serves a looping, a trapping and a memory-hungry plugin in turn (each faults
 * on every order), under the approve, reject and review fail policies, then the shipped rule set.
 * Every order must settle and every invariant hold, the risk step's included.
 */
describe('risk plugin drill', () => {
  test(
    'when the risk service serves a looping, a trapping and a memory-hungry plugin under load, then every order settles and every invariant holds',
    async () => {
      const drill = loadDrill(join(repoRoot, 'chaos/drills/risk-plugins.yaml'));
      const lines: string[] = [];
      const report = await runDrill(drill, {
        log: (line) => lines.push(line),
        serviceLog: join(tmpdir(), 'orderly-chaos-risk-plugins-services.log'),
      });
      const details = `${renderMarkdown(report)}\nprogress:\n${lines.join('\n')}`;
      expect(report.violations, details).toBe(0);
      expect(report.ok, details).toBe(true);
      expect(report.load.accepted, details).toBeGreaterThan(500);
      expect(report.faultCounts['set-config'], details).toBe(4);
      expect(
        report.faults.filter((f) => f.error),
        details,
      ).toEqual([]);
    },
    10 * 60_000,
  );
});
