import { describe, expect, test } from 'vitest';
import { headline, renderMarkdown } from '../src/report.js';
import { drillWarnings, gitCommit, type DrillReport, type FaultRecord } from '../src/run-drill.js';

/** A finished drill in which every invariant held. */
function aReport(overrides: Partial<DrillReport> = {}): DrillReport {
  const invariants = [
    {
      name: 'every-order-terminal' as const,
      description: 'd',
      checked: true,
      passed: true,
      violations: 0,
      examples: [],
    },
  ];
  return {
    drill: 'test',
    description: '',
    startedAt: '',
    finishedAt: '',
    machine: { cpus: 2, memoryGiB: 4, node: 'v20' },
    commit: { sha: 'abc123', dirty: true },
    load: {
      offered: 1,
      accepted: 1,
      attempts: 1,
      retries: 0,
      refused: 0,
      inDoubt: 0,
      shed: 0,
      byStatus: {},
      ratePerSecond: 1,
      durationSeconds: 1,
    },
    faults: [],
    faultCounts: {},
    unexpectedExits: [],
    heal: { boundSeconds: 1, healedAfterMs: 1, lastFaultHealedAtSeconds: 0, loadEndedAtSeconds: 0 },
    outcome: { orders: 1, confirmed: 1, cancelled: {}, open: 0 },
    deadLetters: { total: 0, injectedPoison: 0 },
    invariants,
    violations: 0,
    finalExitCodes: { order: 0 },
    ok: true,
    warnings: [],
    verdict: 'PASSED',
    refusals: [],
    ...overrides,
  };
}

describe('drill report', () => {
  test('when a fault could not be injected and services exited on their own, then the pass says so in the headline', () => {
    const faults: FaultRecord[] = [
      { index: 0, fault: 'kill', target: 'order', atSeconds: 1, durationMs: 1 },
      {
        index: 1,
        fault: 'partition',
        target: 'partition',
        atSeconds: 2,
        durationMs: 1,
        error: 'payment has no nats link',
      },
    ];
    const exits = [1, 2, 3].map((atSeconds) => ({
      service: 'payment',
      code: 1,
      signal: null,
      atSeconds,
    }));
    const warnings = drillWarnings(faults, exits, aReport().invariants);
    const report = aReport({
      faults,
      unexpectedExits: exits,
      warnings,
      verdict: 'PASSED with warnings',
    });

    expect(headline(report)).toBe('PASSED with warnings: 1 fault not injected, 3 unexpected exits');
    const markdown = renderMarkdown(report);
    expect(markdown).toContain(
      '# Chaos drill `test` — PASSED with warnings: 1 fault not injected, 3 unexpected exits',
    );
    expect(markdown).toContain('- 1 fault not injected (#1 partition: payment has no nats link)');
    expect(markdown).toContain('Commit `abc123` **with uncommitted changes**');
  });

  test('when an invariant was waived, then the pass carries a warning and the table its reason', () => {
    const invariants = [
      {
        name: 'dead-letters-explained' as const,
        description: 'd',
        checked: false,
        waived: 'no stream',
        passed: true,
        violations: 0,
        examples: [],
      },
    ];
    const warnings = drillWarnings([], [], invariants);
    const report = aReport({ invariants, warnings });
    expect(headline(report)).toBe('PASSED with warnings: 1 invariant waived');
    expect(renderMarkdown(report)).toContain(
      '| `dead-letters-explained` | d | waived: no stream |',
    );
  });

  test('when an invariant was not checked, then the drill failed and says why', () => {
    const invariants = [
      {
        name: 'dead-letters-explained' as const,
        description: 'd',
        checked: false,
        passed: false,
        violations: 0,
        examples: [],
      },
    ];
    const report = aReport({ invariants, ok: false, verdict: 'FAILED' });
    expect(headline(report)).toBe('FAILED: 1 invariant(s) not checked');
    expect(renderMarkdown(report)).toContain('**not checked (fails the drill)**');
  });

  test('the commit is the checkout HEAD', () => {
    expect(gitCommit().sha).toMatch(/^[0-9a-f]{40}$/);
  });
});
