import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadDrill } from '../src/drill-file.js';
import { renderMarkdown } from '../src/report.js';
import { runDrill } from '../src/run-drill.js';
import { repoRoot } from '../src/service-processes.js';

/**
 * The CI chaos drill (chaos/drills/short.yaml): about a thousand orders while every service is
 * killed with -9, NATS restarts, PostgreSQL connections are cut, a link is partitioned, events are
 * duplicated and a poison message is sent. Afterwards every invariant must hold. The drill runs its
 * own PostgreSQL and NATS, so it never disturbs the machine's shared ones.
 */
describe('short chaos drill', () => {
  test(
    'when services are killed, NATS restarts and links are cut under load, then nothing accepted is lost or applied twice and every invariant holds',
    async () => {
      const drill = loadDrill(join(repoRoot, 'chaos/drills/short.yaml'));
      const lines: string[] = [];
      const report = await runDrill(drill, {
        log: (line) => lines.push(line),
        serviceLog: join(tmpdir(), 'orderly-chaos-short-services.log'),
      });
      const details = `${renderMarkdown(report)}\nprogress:\n${lines.join('\n')}`;
      expect(report.violations, details).toBe(0);
      expect(report.ok, details).toBe(true);
      expect(report.load.accepted, details).toBeGreaterThan(800);
      expect(report.faultCounts.kill, details).toBe(6);
      expect(report.faultCounts['nats-restart'], details).toBe(1);
      expect(
        report.faults.filter((f) => f.error),
        details,
      ).toEqual([]);
      // Readiness follows the dependency: false while the link to NATS is cut, true again after.
      const partitions = report.faults.filter((f) => f.fault === 'partition');
      expect(partitions.length, details).toBeGreaterThan(0);
      for (const p of partitions) {
        expect(p.readiness?.falseAfterMs, details).toBeDefined();
        expect(p.readiness?.trueAgainAfterMs, details).toBeDefined();
      }
    },
    8 * 60_000,
  );
});
