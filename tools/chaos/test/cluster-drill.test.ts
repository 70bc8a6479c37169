import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { loadDrill } from '../src/drill-file.js';
import { renderMarkdown } from '../src/report.js';
import { runDrill } from '../src/run-drill.js';
import { repoRoot } from '../src/service-processes.js';

/**
 * The CI cluster drill (chaos/drills/cluster-short.yaml): the production shape on this machine —
 * three NATS nodes with R3 streams, two replicas of every service, PostgreSQL primary + synchronous
 * standby — while the NATS stream leader is killed, replicas are killed, the PostgreSQL primary
 * fails over and the new stream leader is cut off. Afterwards every invariant holds and every
 * acknowledged publish is in the stream. The full drill is chaos/drills/cluster.yaml.
 */
describe('cluster chaos drill (short)', () => {
  test(
    'when a NATS node, service replicas and the PostgreSQL primary are lost under load, then nothing accepted or acknowledged is lost and every invariant holds',
    async () => {
      const drill = loadDrill(join(repoRoot, 'chaos/drills/cluster-short.yaml'));
      const lines: string[] = [];
      const report = await runDrill(drill, {
        log: (line) => lines.push(line),
        serviceLog: join(tmpdir(), 'orderly-chaos-cluster-short-services.log'),
      });
      const details = `${renderMarkdown(report)}\nprogress:\n${lines.join('\n')}`;
      expect(report.violations, details).toBe(0);
      expect(report.ok, details).toBe(true);
      expect(report.load.accepted, details).toBeGreaterThan(150);
      expect(
        report.faults.filter((f) => f.error),
        details,
      ).toEqual([]);
      expect(report.faultCounts, details).toEqual({
        'nats-node-kill': 1,
        'replica-kill': 2,
        'postgres-failover': 1,
        'nats-node-cut': 1,
      });
      expect(report.durability?.streamReplicas, details).toBe(3);
      expect(report.durability?.published, details).toBeGreaterThan(0);
      expect(report.durability?.missing, details).toBe(0);
    },
    6 * 60_000,
  );
});
