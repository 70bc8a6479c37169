import {
  PerformanceObserver,
  constants,
  monitorEventLoopDelay,
  type ELDHistogram,
} from 'node:perf_hooks';
import { getHeapSpaceStatistics } from 'node:v8';
import type { Histogram, Meter } from '@opentelemetry/api';

/**
 * Process metrics every service exposes (semantic conventions for Node.js and V8): event-loop delay,
 * GC pauses by kind, heap used by space. One event-loop monitor and one GC observer per process feed
 * every service's meter (the embedded mode runs several services in one process).
 */
const nanosPerSecond = 1e9;

const gcKinds = new Map<number, string>([
  [constants.NODE_PERFORMANCE_GC_MINOR, 'minor'],
  [constants.NODE_PERFORMANCE_GC_MAJOR, 'major'],
  [constants.NODE_PERFORMANCE_GC_INCREMENTAL, 'incremental'],
  [constants.NODE_PERFORMANCE_GC_WEAKCB, 'weakcb'],
]);

interface EventLoopWindow {
  readonly min: number;
  readonly max: number;
  readonly mean: number;
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
}

class ProcessSampler {
  private readonly gcHistograms = new Set<Histogram>();
  private readonly monitor: ELDHistogram;
  private readonly observer: PerformanceObserver;
  private readonly windowTimer: NodeJS.Timeout;
  private lastWindow: EventLoopWindow | undefined;
  users = 0;

  constructor(resolutionMs: number, windowMs: number) {
    this.monitor = monitorEventLoopDelay({ resolution: resolutionMs });
    this.monitor.enable();
    this.observer = new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        const detail = (entry as { detail?: { kind?: number } }).detail;
        const kind = gcKinds.get(detail?.kind ?? -1) ?? 'unknown';
        for (const histogram of this.gcHistograms)
          histogram.record(entry.duration / 1e3, { 'v8js.gc.type': kind });
      }
    });
    this.observer.observe({ entryTypes: ['gc'] });
    // Delay figures describe a recent window rather than the whole life of the process.
    this.windowTimer = setInterval(() => {
      this.lastWindow = this.read();
      this.monitor.reset();
    }, windowMs);
    this.windowTimer.unref();
  }

  addGcHistogram(histogram: Histogram): () => void {
    this.gcHistograms.add(histogram);
    return () => this.gcHistograms.delete(histogram);
  }

  eventLoop(): EventLoopWindow | undefined {
    return this.monitor.count > 0 ? this.read() : this.lastWindow;
  }

  private read(): EventLoopWindow {
    const m = this.monitor;
    return {
      min: m.min / nanosPerSecond,
      max: m.max / nanosPerSecond,
      mean: m.mean / nanosPerSecond,
      p50: m.percentile(50) / nanosPerSecond,
      p90: m.percentile(90) / nanosPerSecond,
      p99: m.percentile(99) / nanosPerSecond,
    };
  }

  close(): void {
    this.monitor.disable();
    this.observer.disconnect();
    clearInterval(this.windowTimer);
  }
}

let sampler: ProcessSampler | undefined;

/** Registers the process metrics on `meter`; the returned function unregisters them. */
export function registerRuntimeMetrics(
  meter: Meter,
  options: { readonly eventLoopDelayResolutionMs: number; readonly windowMs: number },
): () => void {
  sampler ??= new ProcessSampler(options.eventLoopDelayResolutionMs, options.windowMs);
  const shared = sampler;
  shared.users += 1;

  const delay = {
    min: meter.createObservableGauge('nodejs.eventloop.delay.min', {
      unit: 's',
      description: 'Event loop minimum delay.',
    }),
    max: meter.createObservableGauge('nodejs.eventloop.delay.max', {
      unit: 's',
      description: 'Event loop maximum delay.',
    }),
    mean: meter.createObservableGauge('nodejs.eventloop.delay.mean', {
      unit: 's',
      description: 'Event loop mean delay.',
    }),
    p50: meter.createObservableGauge('nodejs.eventloop.delay.p50', {
      unit: 's',
      description: 'Event loop 50th percentile delay.',
    }),
    p90: meter.createObservableGauge('nodejs.eventloop.delay.p90', {
      unit: 's',
      description: 'Event loop 90th percentile delay.',
    }),
    p99: meter.createObservableGauge('nodejs.eventloop.delay.p99', {
      unit: 's',
      description: 'Event loop 99th percentile delay.',
    }),
  };
  const heapUsed = meter.createObservableGauge('v8js.memory.heap.used', {
    unit: 'By',
    description: 'Heap memory in use, by V8 heap space.',
  });
  const observe = (result: Parameters<Parameters<Meter['addBatchObservableCallback']>[0]>[0]) => {
    const window = shared.eventLoop();
    if (window)
      for (const key of Object.keys(delay) as (keyof typeof delay)[])
        result.observe(delay[key], window[key]);
    for (const space of getHeapSpaceStatistics()) {
      result.observe(heapUsed, space.space_used_size, { 'v8js.heap.space.name': space.space_name });
    }
  };
  const observables = [...Object.values(delay), heapUsed];
  meter.addBatchObservableCallback(observe, observables);

  const gcDuration = meter.createHistogram('v8js.gc.duration', {
    unit: 's',
    description: 'Garbage collection pause durations, by kind.',
    advice: {
      explicitBucketBoundaries: [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5],
    },
  });
  const removeGc = shared.addGcHistogram(gcDuration);

  return () => {
    meter.removeBatchObservableCallback(observe, observables);
    removeGc();
    shared.users -= 1;
    if (shared.users === 0) {
      shared.close();
      sampler = undefined;
    }
  };
}
