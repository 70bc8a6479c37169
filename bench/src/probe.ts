import { writeFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import {
  PerformanceObserver,
  performance,
  constants,
  type PerformanceEntry,
} from 'node:perf_hooks';
import { Histogram } from './histogram.js';

/**
 * Preloaded into every measured process (`node --import tsx --import bench/src/probe.ts …`) when
 * BENCH_PROBE_DIR is set: counts GC pauses by kind and samples event-loop delay, and every second
 * rewrites <dir>/<label>-<pid>.json with cumulative figures. The bench diffs two snapshots to get a
 * phase's GC time and event-loop-delay distribution. It touches nothing in the service.
 */
const dir = process.env.BENCH_PROBE_DIR;
const label = process.env.BENCH_PROBE_LABEL ?? 'process';
// 100 ms: the probe's own timer is in every service's CPU figures. At 20 ms its wake-ups alone were
// ~2.6 % of a core across six idle services (idle figure 6.3 % vs 3.7 % with 1 s sampling).
const sampleEveryMs = Math.max(1, Number(process.env.BENCH_PROBE_SAMPLE_MS) || 100);
const writeEveryMs = Number(process.env.BENCH_PROBE_WRITE_MS ?? '500');

export interface ProbeSnapshot {
  label: string;
  pid: number;
  at: number;
  gc: {
    count: number;
    totalMs: number;
    maxMs: number;
    byKind: Record<string, { count: number; totalMs: number }>;
  };
  /** Event-loop delay samples, µs (cumulative). */
  eld: ReturnType<Histogram['serialize']>;
}

const kinds: Record<number, string> = {
  [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
  [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
  [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
};

if (dir) {
  const gc: ProbeSnapshot['gc'] = { count: 0, totalMs: 0, maxMs: 0, byKind: {} };
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const detail = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail;
      const kind = kinds[detail?.kind ?? -1] ?? 'other';
      gc.count++;
      gc.totalMs += entry.duration;
      if (entry.duration > gc.maxMs) gc.maxMs = entry.duration;
      const k = (gc.byKind[kind] ??= { count: 0, totalMs: 0 });
      k.count++;
      k.totalMs += entry.duration;
    }
  });
  observer.observe({ entryTypes: ['gc'] });

  const eld = new Histogram();
  let expected = performance.now() + sampleEveryMs;
  const sampler = setInterval(() => {
    const now = performance.now();
    eld.record(Math.max(0, (now - expected) * 1000));
    expected = now + sampleEveryMs;
  }, sampleEveryMs);
  sampler.unref();

  const file = join(dir, `${label}-${process.pid}.json`);
  const write = () => {
    // RSS and CPU come from /proc (read by the bench); the probe stays cheap.
    const snapshot: ProbeSnapshot = {
      label,
      pid: process.pid,
      at: Date.now(),
      gc,
      eld: eld.serialize(),
    };
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(snapshot));
      renameSync(`${file}.tmp`, file);
    } catch {
      // the bench may already have removed its directory
    }
  };
  const writer = setInterval(write, writeEveryMs);
  writer.unref();
  process.once('exit', write);
}
