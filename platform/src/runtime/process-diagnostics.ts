import { hostname } from 'node:os';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay, performance, type ELDHistogram } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import {
  getHeapSnapshot,
  getHeapSpaceStatistics,
  getHeapStatistics,
  setFlagsFromString,
} from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * What one Node process reports about itself to the operator's debug endpoints: its handles by type,
 * listeners on `process`, event-loop utilisation and delay, heap figures, a forced full GC, a heap
 * snapshot and a CPU profile. Process-wide: in embedded mode every service of the process reports the
 * same figures (the `process` block of `/admin/debug/resources` names it, so a reader can group them).
 */
export interface ProcessIdentity {
  readonly pid: number;
  readonly hostname: string;
  /** When the process started (ISO 8601): with pid and hostname, names one process. */
  readonly startedAt: string;
  readonly uptimeSeconds: number;
  readonly nodeVersion: string;
}

export interface HeapFigures {
  readonly usedBytes: number;
  readonly totalBytes: number;
  readonly limitBytes: number;
  readonly externalBytes: number;
  readonly mallocedBytes: number;
  /** Contexts kept alive after their use (a classic leak, e.g. retained vm contexts or iframes). */
  readonly detachedContexts: number;
  readonly nativeContexts: number;
  readonly spaces: readonly {
    readonly name: string;
    readonly usedBytes: number;
    readonly sizeBytes: number;
  }[];
}

export interface EventLoopDelay {
  /** Milliseconds; over `windowMs` ending `endedAgoMs` ago (the current window while none is complete). */
  readonly minMs: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  readonly windowMs: number;
  readonly samples: number;
}

export function processIdentity(): ProcessIdentity {
  const uptimeSeconds = process.uptime();
  return {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date(Math.round(performance.timeOrigin)).toISOString(),
    uptimeSeconds,
    nodeVersion: process.version,
  };
}

/** `process.getActiveResourcesInfo()` counted by type (Timeout, TCPSocketWrap, FSReqCallback, ...). */
export function activeResources(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return sortedByKey(counts);
}

/** Listeners on `process`, by event. */
export function processListeners(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const event of process.eventNames()) counts[String(event)] = process.listenerCount(event);
  return sortedByKey(counts);
}

export function heapFigures(): HeapFigures {
  const heap = getHeapStatistics();
  return {
    usedBytes: heap.used_heap_size,
    totalBytes: heap.total_heap_size,
    limitBytes: heap.heap_size_limit,
    externalBytes: heap.external_memory,
    mallocedBytes: heap.malloced_memory,
    detachedContexts: heap.number_of_detached_contexts,
    nativeContexts: heap.number_of_native_contexts,
    spaces: getHeapSpaceStatistics().map((space) => ({
      name: space.space_name,
      usedBytes: space.space_used_size,
      sizeBytes: space.space_size,
    })),
  };
}

let gcFunction: (() => void) | undefined;

/**
 * Runs a full garbage collection. Without `--expose-gc` on the command line, the flag is set at run
 * time and `gc` taken from a fresh context (V8 installs it on contexts created after the flag).
 */
export function forceFullGc(): void {
  if (!gcFunction) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (typeof exposed === 'function') gcFunction = exposed;
    else {
      setFlagsFromString('--expose-gc');
      gcFunction = runInNewContext('gc') as () => void;
    }
  }
  gcFunction();
}

/**
 * Event-loop utilisation between two readings: a reader keeps its previous reading, so two services of
 * one process asking in turn each get the share of their own interval.
 */
export class UtilizationReader {
  private previous = performance.eventLoopUtilization();

  /** Share of the time since the previous call (or construction) the loop was busy, 0..1. */
  read(): number {
    const now = performance.eventLoopUtilization();
    const delta = performance.eventLoopUtilization(now, this.previous);
    this.previous = now;
    return delta.utilization;
  }
}

/**
 * One event-loop delay monitor per process, started by the first reader and stopped with the last
 * (`acquire` / the function it returns). Figures come in windows: a reading returns the last completed
 * window, so every service of the process sees the same one.
 */
class DelayMonitor {
  private monitor: ELDHistogram | undefined;
  private resolutionMs = 0;
  private windowStartedAt = 0;
  private last: EventLoopDelay | undefined;
  private users = 0;

  acquire(): () => void {
    this.users += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.users -= 1;
      if (this.users === 0) {
        this.monitor?.disable();
        this.monitor = undefined;
        this.last = undefined;
      }
    };
  }

  /** Starts the monitor on first use; undefined until it has a sample. */
  read(resolutionMs: number, windowMs: number): EventLoopDelay | undefined {
    if (!this.monitor) {
      this.resolutionMs = resolutionMs;
      this.monitor = monitorEventLoopDelay({ resolution: resolutionMs });
      this.monitor.enable();
      this.windowStartedAt = performance.now();
      return undefined;
    }
    const age = performance.now() - this.windowStartedAt;
    if (age >= windowMs) {
      this.last = this.figures(this.monitor, age);
      this.monitor.reset();
      this.windowStartedAt = performance.now();
    }
    // Until a first window is complete, the current one.
    return this.last ?? (this.monitor.count > 0 ? this.figures(this.monitor, age) : undefined);
  }

  private figures(m: ELDHistogram, windowMs: number): EventLoopDelay {
    // The histogram records the time between two of its timer's ticks, the resolution included:
    // the delay is what exceeds it.
    const ms = (nanos: number) =>
      Number.isFinite(nanos) ? Math.max(0, nanos / 1e6 - this.resolutionMs) : 0;
    return {
      minMs: m.count > 0 ? ms(m.min) : 0,
      meanMs: m.count > 0 ? ms(m.mean) : 0,
      p50Ms: m.count > 0 ? ms(m.percentile(50)) : 0,
      p99Ms: m.count > 0 ? ms(m.percentile(99)) : 0,
      maxMs: m.count > 0 ? ms(m.max) : 0,
      windowMs: Math.round(windowMs),
      samples: m.count,
    };
  }
}

export const eventLoopDelay = new DelayMonitor();

/** A heap snapshot of this process as a stream of `.heapsnapshot` JSON (Chrome DevTools → Memory → Load). */
export function heapSnapshotStream(): Readable {
  return getHeapSnapshot();
}

let profiling = false;

/** Whether a CPU profile is being taken in this process (one at a time). */
export function isProfiling(): boolean {
  return profiling;
}

/**
 * Profiles this process's CPU for `durationMs` (or until `signal` aborts) through the inspector, and
 * returns the profile as `.cpuprofile` JSON (Chrome DevTools → Performance → Load profile, or VS Code).
 * One at a time: a second call while one runs throws.
 */
export async function takeCpuProfile(
  durationMs: number,
  samplingIntervalUs: number,
  signal: AbortSignal,
): Promise<string> {
  if (profiling) throw new Error('a CPU profile is already being taken in this process');
  profiling = true;
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
    await session.post('Profiler.start');
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, durationMs);
      function done() {
        clearTimeout(timer);
        signal.removeEventListener('abort', done);
        resolve();
      }
      signal.addEventListener('abort', done, { once: true });
    });
    const { profile } = await session.post('Profiler.stop');
    return JSON.stringify(profile);
  } finally {
    await session.post('Profiler.disable').catch(() => undefined);
    session.disconnect();
    profiling = false;
  }
}

function sortedByKey(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).sort(([a], [b]) => a.localeCompare(b)));
}
