import { fork } from 'node:child_process';
import { join } from 'node:path';
import type { LoadJob, LoadResult } from './loadgen/job.js';
import type { PhaseResources, ResourceTracker } from './resources.js';
import { repoRoot } from './system.js';

/**
 * Runs one load job in a fresh load-generator process and measures resources exactly over its
 * measured window (after warm-up, before drain).
 */
export interface MeasuredLoad {
  readonly load: LoadResult;
  readonly resources: PhaseResources;
  readonly windowStartMs: number;
  readonly windowEndMs: number;
}

/** Read at the instants the measured window starts and ends (e.g. database and bus counters). */
export interface WindowHooks<T> {
  readonly atWindowEdge: () => Promise<T>;
}

export async function runMeasuredLoad<T = undefined>(
  job: LoadJob,
  tracker: ResourceTracker,
  probeDir: string,
  hooks?: WindowHooks<T>,
): Promise<MeasuredLoad & { edges?: { start: T; end: T } }> {
  const child = fork(join(repoRoot, 'bench/src/loadgen/child.ts'), [], {
    execArgv: ['--import', 'tsx', '--import', join(repoRoot, 'bench/src/probe.ts')],
    env: { ...process.env, BENCH_PROBE_DIR: probeDir, BENCH_PROBE_LABEL: 'loadgen' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  tracker.track('load generator', child.pid);
  let start: ReturnType<ResourceTracker['snapshot']> | undefined;
  let end: ReturnType<ResourceTracker['snapshot']> | undefined;
  let windowStartMs = 0;
  let windowEndMs = 0;
  let startEdge: Promise<T> | undefined;
  let endEdge: Promise<T> | undefined;
  const startTimer = setTimeout(() => {
    windowStartMs = Date.now();
    start = tracker.snapshot(true);
    startEdge = hooks?.atWindowEdge();
  }, job.warmupMs);
  const endTimer = setTimeout(() => {
    windowEndMs = Date.now();
    end = tracker.snapshot();
    endEdge = hooks?.atWindowEdge();
  }, job.warmupMs + job.durationMs);
  try {
    const load = await new Promise<LoadResult>((resolve, reject) => {
      child.once('message', (message: { ok: boolean; result?: LoadResult; error?: string }) => {
        if (message.ok && message.result) resolve(message.result);
        else reject(new Error(`load generator failed: ${message.error}`));
      });
      child.once('exit', (code) =>
        reject(new Error(`load generator exited with ${code} before answering`)),
      );
      child.send(job);
    });
    end ??= tracker.snapshot();
    start ??= end;
    windowEndMs ||= Date.now();
    if (hooks) {
      startEdge ??= hooks.atWindowEdge();
      endEdge ??= hooks.atWindowEdge();
    }
    const edges = startEdge && endEdge ? { start: await startEdge, end: await endEdge } : undefined;
    return {
      load,
      resources: tracker.figures(start, end),
      windowStartMs: windowStartMs || load.windowStartEpochMs,
      windowEndMs,
      ...(edges ? { edges } : {}),
    };
  } finally {
    clearTimeout(startTimer);
    clearTimeout(endTimer);
    tracker.untrack('load generator');
    if (child.exitCode === null) child.kill('SIGKILL');
  }
}
