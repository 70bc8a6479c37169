import { describe, expect, test } from 'vitest';
import type { ServiceResources } from '@orderly/platform';
import {
  analyze,
  floorGrowth,
  renderReport,
  type DoctorInput,
  type Round,
  type Thresholds,
} from '../src/doctor-report.js';

/**
 * What `orderly doctor` concludes from its samples: a count grows when its floor rises (traffic that
 * comes and goes does not count), heap is compared after GC, event-loop delay is a level; the table
 * names what grows and where.
 */
const thresholds: Thresholds = {
  handleGrowth: 10,
  listenerGrowth: 5,
  heapGrowthBytes: 16 * 1024 * 1024,
  eventLoopDelayP99Ms: 100,
  outboxBacklogGrowth: 100,
  consumerLagGrowth: 100,
  deadLetterGrowth: 0,
};

/** A sample of one service; `process` names the process it runs in. */
function sample(
  service: string,
  figures: {
    process?: number;
    handles?: Record<string, number>;
    listeners?: number;
    p99Ms?: number;
    outbox?: number;
    lag?: Record<string, number>;
    deadLetters?: number;
  } = {},
): ServiceResources {
  const pid = figures.process ?? 100;
  const handles = figures.handles ?? { TCPServerWrap: 2, Timeout: 5 };
  return {
    service,
    collectedAt: '2026-01-31T10:00:00.000Z',
    process: {
      pid,
      hostname: 'host',
      startedAt: '2026-01-31T09:00:00.000Z',
      uptimeSeconds: 60,
      nodeVersion: 'v26.0.0',
    },
    resources: { total: 0, byType: handles },
    listeners: { total: figures.listeners ?? 4, byEvent: {} },
    eventLoop: {
      utilization: 0.01,
      delay: {
        minMs: 0,
        meanMs: 1,
        p50Ms: 1,
        p99Ms: figures.p99Ms ?? 2,
        maxMs: 3,
        windowMs: 5000,
        samples: 50,
      },
    },
    heap: {
      usedBytes: 50e6,
      totalBytes: 60e6,
      limitBytes: 2e9,
      externalBytes: 1e6,
      mallocedBytes: 1e6,
      detachedContexts: 0,
      nativeContexts: 1,
      spaces: [],
      afterFullGc: false,
    },
    database: { open: 2, idle: 2, waiting: 0, max: 10 },
    outbox: { unpublished: figures.outbox ?? 0, oldestAgeSeconds: null },
    bus: {
      kind: 'memory',
      connection: 'in-process',
      consumers: Object.entries(figures.lag ?? { [`${service}.events`]: 0 }).map(
        ([subscription, pending]) => ({ subscription, pending, inFlight: 0 }),
      ),
      deadLetters: figures.deadLetters ?? 0,
    },
  };
}

function rounds(count: number, polls: (i: number) => Round['polls']): Round[] {
  return Array.from({ length: count }, (_, i) => ({ atMs: i * 1000, polls: polls(i) }));
}

const steadyHeap = {
  start: { 'host/100/2026-01-31T09:00:00.000Z': 40e6 },
  end: { 'host/100/2026-01-31T09:00:00.000Z': 41e6 },
};

function input(partial: Partial<DoctorInput> & Pick<DoctorInput, 'rounds'>): DoctorInput {
  return { services: ['order'], heapAfterGc: steadyHeap, thresholds, ...partial };
}

describe('floor growth', () => {
  test('when a count jumps up and down with traffic, then its floor does not move; when every sample rises, it does', () => {
    expect(floorGrowth([20, 35, 20, 41, 20, 33, 20])).toBe(0);
    expect(floorGrowth([10, 20, 30, 40, 50, 60])).toBe(30);
    expect(floorGrowth([7])).toBe(0);
  });
});

describe('analyze', () => {
  test('when nothing grows, then the report is healthy and every check is ok', () => {
    const report = analyze(
      input({
        rounds: rounds(6, (i) => ({
          order: { resources: sample('order', { handles: { Timeout: 5 + (i % 2) * 30 } }) },
        })),
      }),
    );
    expect(report.healthy).toBe(true);
    expect(report.checks.every((c) => c.verdict === 'ok')).toBe(true);
    expect(report.checks.map((c) => c.check)).toEqual([
      'handles Timeout',
      'listeners on process',
      'heap after full GC',
      'event-loop delay p99 (median)',
      'outbox backlog',
      'consumer lag (1 subscription)',
      'dead letters',
    ]);
  });

  test('when one handle type rises in every sample, then it GROWS and the problem names the type, the process and its services', () => {
    const report = analyze(
      input({
        services: ['order', 'payment'],
        rounds: rounds(11, (i) => ({
          order: {
            resources: sample('order', { handles: { Timeout: 5 + i * 10, TCPServerWrap: 4 } }),
          },
          payment: {
            resources: sample('payment', { handles: { Timeout: 5 + i * 10, TCPServerWrap: 4 } }),
          },
        })),
      }),
    );
    expect(report.healthy).toBe(false);
    expect(report.processes).toEqual([
      { key: 'host/100/2026-01-31T09:00:00.000Z', services: ['order', 'payment'] },
    ]);
    expect(report.problems).toEqual([
      'process 100 on host (order, payment): handles of type Timeout grew by +50 in 10 s (limit +10)',
    ]);
    const text = renderReport(report, 'orderly doctor');
    expect(text).toMatch(/handles Timeout +5 +105 +\+50 +\+10 +GROWS/);
    expect(text).toMatch(/handles TCPServerWrap +4 +4 +\+0 +\+10 +ok/);
    expect(text).toContain('UNHEALTHY: 1 problem');
  });

  test('when the heap after a full GC grows beyond its limit, then it is reported in MiB', () => {
    const key = 'host/100/2026-01-31T09:00:00.000Z';
    const report = analyze(
      input({
        rounds: rounds(3, () => ({ order: { resources: sample('order') } })),
        heapAfterGc: { start: { [key]: 40 * 1024 * 1024 }, end: { [key]: 80 * 1024 * 1024 } },
      }),
    );
    expect(report.problems).toEqual([
      'process 100 on host (order): heap after a full GC grew by 40.0 MiB in 2 s (limit +16.0 MiB)',
    ]);
  });

  test('when backlog, lag and dead letters rise, then each is named with its service (the lag with its subscription)', () => {
    const report = analyze(
      input({
        rounds: rounds(5, (i) => ({
          order: {
            resources: sample('order', {
              outbox: i * 100,
              lag: { 'order.stock-results': 0, 'order.payment-results': i * 200 },
              deadLetters: i === 4 ? 2 : 0,
            }),
          },
        })),
      }),
    );
    expect(report.problems).toEqual([
      'order: the outbox backlog grew by +200 in 4 s (limit +100)',
      'order: consumer lag grew in 4 s: order.payment-results +400 (limit +100)',
      'order: 2 dead letters added in 4 s (limit +0)',
    ]);
  });

  test('when the event-loop delay p99 is high in most samples, then it is HIGH; one slow sample is not', () => {
    const slow = analyze(
      input({
        rounds: rounds(5, () => ({ order: { resources: sample('order', { p99Ms: 250 }) } })),
      }),
    );
    expect(slow.problems).toEqual([
      'process 100 on host (order): event-loop delay p99 is 250.0 ms (median of 4 samples; limit 100.0 ms)',
    ]);
    const once = analyze(
      input({
        rounds: rounds(5, (i) => ({
          order: { resources: sample('order', { p99Ms: i === 2 ? 900 : 2 }) },
        })),
      }),
    );
    expect(once.healthy).toBe(true);
  });

  test('when a service stops answering during the run, then it FAILED with its last error', () => {
    const report = analyze(
      input({
        rounds: rounds(4, (i) => ({
          order: i < 2 ? { resources: sample('order') } : { error: 'ECONNREFUSED' },
        })),
      }),
    );
    expect(report.healthy).toBe(false);
    expect(report.problems).toEqual(['order: 2 of 4 polls failed (ECONNREFUSED)']);
  });

  test('when two services run in two processes, then each process is checked on its own', () => {
    const report = analyze(
      input({
        services: ['order', 'payment'],
        rounds: rounds(4, (i) => ({
          order: { resources: sample('order', { process: 100 }) },
          payment: {
            resources: sample('payment', { process: 200, handles: { Timeout: 5 + i * 20 } }),
          },
        })),
      }),
    );
    expect(report.processes.map((p) => p.services)).toEqual([['order'], ['payment']]);
    expect(report.problems).toEqual([
      'process 200 on host (payment): handles of type Timeout grew by +40 in 3 s (limit +10)',
    ]);
  });
});
