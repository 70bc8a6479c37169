import { describe, expect, test } from 'vitest';
import type { BenchReport } from '../src/report-types.js';
import type { PhaseResources } from '../src/resources.js';
import {
  componentCost,
  natsComponent,
  postgresComponent,
  replicaShares,
  scalingMarkdown,
  type ScalingRun,
} from '../src/report/scaling-report.js';

/** A window's resources: CPU seconds by process label, PostgreSQL and NATS groups. */
function resources(cpu: Record<string, number>, postgres: number, nats: number): PhaseResources {
  return {
    wallSeconds: 10,
    cores: 2,
    machineBusyPercent: 90,
    processes: Object.entries(cpu).map(([label, cpuSeconds], i) => ({
      label,
      pid: 100 + i,
      cpuSeconds,
      cpuPercentOfCore: cpuSeconds * 10,
      peakRssMB: null,
      maxSampledRssMB: null,
      gc: null,
      eventLoopDelayMs: null,
    })),
    groups: {
      'bench processes': 1,
      'postgres (this run)': postgres,
      'postgres (shared)': 0,
      'postgres (other)': 0.5,
      'nats-server': nats,
      other: 2,
    },
    topOthers: [],
  };
}

function run(replicas: number, cpu: Record<string, number>, completed: number): ScalingRun {
  const window = resources(cpu, 4, 1);
  const report = {
    meta: {
      services: ['order', 'gateway'],
      commit: 'abc',
      dirty: false,
      cpus: 2,
      cpuModel: 'test',
      memoryGB: 1,
      node: 'v26',
      postgres: {},
      startedAt: '2026-12-05T22:00:00.000Z',
      loadAverageAtStart: [1, 1, 1],
    },
    e2eFixed: { http: { resources: window, windowSeconds: 10 }, sagas: { completed } },
    intake: {
      resources: window,
      connections: 500,
      acceptedPerSecond: completed / 10,
      latencyMs: { p99: 100 },
    },
    saturation: {
      sustainedSagasPerSecond: completed / 10,
      cost: {
        completedSagas: completed,
        statements: { notMeasured: 'test' },
        bus: { notMeasured: 'test' },
      },
    },
    notes: [],
  } as unknown as BenchReport;
  return { replicas, attempt: 1, report };
}

describe('scaling report', () => {
  test('when a service runs as two replicas, then its CPU per saga is the sum of both, and PostgreSQL and NATS are their own rows', () => {
    const cost = componentCost(
      resources({ order: 2, 'order#2': 1, gateway: 1, 'gateway#2': 1 }, 4, 1),
      ['order', 'gateway'],
      1000,
    );
    expect(cost?.msPerSaga).toMatchObject({
      order: 3,
      gateway: 2,
      [postgresComponent]: 4,
      [natsComponent]: 1,
    });
    expect(cost?.totalMsPerSaga).toBe(10);
    // other work on the machine is reported beside the sum, never in it
    expect(cost?.otherCpuSeconds).toBe(2.5);
  });

  test('when no saga completed in a window, then it has no cost rather than an infinite one', () => {
    expect(componentCost(resources({ order: 1 }, 1, 1), ['order'], 0)).toBeUndefined();
  });

  test('when the replicas of a service split its work, then the shares are given replica by replica', () => {
    expect(replicaShares(resources({ 'order#2': 1, order: 3 }, 0, 0), 'order')).toEqual([75, 25]);
  });

  test('when one and two replicas ran, then the tables put them side by side with the change from one to two', () => {
    const markdown = scalingMarkdown(
      [
        run(1, { order: 2, gateway: 2 }, 1000),
        run(2, { order: 1.5, 'order#2': 1.5, gateway: 1, 'gateway#2': 1 }, 1000),
      ],
      {
        command: 'npm run bench:scaling',
        fixedRate: 120,
        load: 'same',
        startedAt: '2026-12-05T22:00:00.000Z',
      },
    );
    expect(markdown).toContain('| order | 2 | 3 | 2 | 3 | +1 ms (+50 %) |');
    expect(markdown).toContain('| **sum** | **9** | **10** | **9** | **10** | +1 ms (+11 %) |');
    expect(markdown).toContain('| 2 × (run 1) | 50 / 50 | 50 / 50 |');
  });
});
