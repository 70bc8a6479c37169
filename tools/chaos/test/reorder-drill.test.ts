import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { drillFile } from '../src/drill-file.js';
import { reorderPairs, stringField } from '../src/reorder.js';
import { renderMarkdown } from '../src/report.js';
import { runDrill } from '../src/run-drill.js';

/**
 * The reorder fault through the real bus: each step holds back an earlier event of some orders from
 * its consumer until the order's cancellation (the later event) was applied there, then delivers it.
 * The consumers must cope: every invariant holds afterwards (no stock held or sold, no money kept,
 * for an order cancelled before its earlier event arrived).
 */
describe('reorder fault', () => {
  test("when a consumer gets an order's cancellation before an earlier event of it, then it reserves, charges and confirms nothing for it and every invariant holds", async () => {
    const drill = drillFile.parse({
      name: 'reorder',
      description: 'every reorder pair once, under load',
      load: { ratePerSecond: 10, durationSeconds: 50, customers: 10 },
      healBoundSeconds: 90,
      stock: { plenty: 1_000_000, scarce: 40 },
      // A short saga timeout: the held-back orders are cancelled (the later event) within seconds.
      env: { ORDERLY_SERVICES__ORDER__SAGA_TIMEOUT_MS: '5000' },
      steps: reorderPairs.map((_, i) => ({ at: 4 + i * 11, fault: 'reorder', count: 5 })),
    });
    const lines: string[] = [];
    const report = await runDrill(drill, {
      log: (line) => lines.push(line),
      serviceLog: join(tmpdir(), 'orderly-chaos-reorder-services.log'),
    });
    const details = `${renderMarkdown(report)}\nprogress:\n${lines.join('\n')}`;

    const reorders = report.faults.filter((f) => f.fault === 'reorder');
    expect(
      reorders.map((f) => f.error),
      details,
    ).toEqual(reorderPairs.map(() => undefined));
    expect(
      reorders.map((f) => f.target),
      details,
    ).toEqual(reorderPairs.map((p) => `${p.consumer} (${p.eventType})`));
    for (const f of reorders)
      expect(Number(/(\d+) delivered/.exec(f.detail ?? '')?.[1]), details).toBeGreaterThan(0);
    expect(
      report.invariants.filter((i) => !i.passed).map((i) => i.name),
      details,
    ).toEqual([]);
    expect(report.ok, details).toBe(true);
    expect(report.outcome.cancelled.TIMED_OUT, details).toBeGreaterThan(0);
  }, 420_000);

  test('the order id is read from field 4 of a saga event', () => {
    // field 1 "e", field 4 "order-1"
    const data = new Uint8Array([
      0x0a,
      1,
      0x65,
      0x18,
      3,
      0x22,
      7,
      ...new TextEncoder().encode('order-1'),
    ]);
    expect(stringField(data, 4)).toBe('order-1');
    expect(stringField(new Uint8Array([0xff]), 4)).toBeUndefined();
  });
});
