import cluster, { type Worker } from 'node:cluster';

/**
 * The worker-count knob: a service configured for N > 1 workers runs as a small supervisor (the
 * cluster primary) and N worker processes that each run the whole service and share its port
 * (the kernel hands each new connection to one of them). The supervisor restarts a worker that
 * dies unexpectedly, passes SIGTERM/SIGINT on, and exits once every worker has stopped — with 0
 * when they all stopped cleanly.
 */
export interface WorkerSettings {
  readonly count: number;
  readonly restartDelayMs: number;
  readonly graceMs: number;
}

/** True in a worker process, or when one process is all this service runs as. */
export function runsService(settings: WorkerSettings): boolean {
  return settings.count <= 1 || !cluster.isPrimary;
}

export function superviseWorkers(name: string, settings: WorkerSettings): void {
  // Let the kernel spread connections: the primary then never touches a request.
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  let stopping = false;
  let stopSignal: NodeJS.Signals | undefined;
  let failed = false;
  const say = (message: string) => process.stderr.write(`${name}: ${message}\n`);
  const start = (): Worker => cluster.fork();
  for (let i = 0; i < settings.count; i++) start();
  say(`supervising ${settings.count} workers`);

  cluster.on('exit', (worker, code, signal) => {
    if (stopping) {
      // Killed by the very signal we passed on: it had not installed its handlers yet, so it was
      // still loading and had not started any work.
      if (code !== 0 && signal !== stopSignal) {
        failed = true;
        say(`worker ${worker.process.pid} stopped with ${signal ?? code}`);
      }
      if (Object.keys(cluster.workers ?? {}).length === 0) process.exit(failed ? 1 : 0);
      return;
    }
    say(
      `worker ${worker.process.pid} exited (${signal ?? code}); starting another in ${settings.restartDelayMs} ms`,
    );
    setTimeout(() => {
      if (!stopping) start();
    }, settings.restartDelayMs);
  });

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stopSignal = signal;
    say(`${signal} received, stopping workers`);
    const workers = Object.values(cluster.workers ?? {});
    if (workers.length === 0) process.exit(0);
    for (const worker of workers) worker?.process.kill(signal);
    // Workers stop themselves within their grace time; this only guards against one that hangs.
    setTimeout(() => {
      say('workers did not stop within the grace time');
      process.exit(1);
    }, settings.graceMs + settings.restartDelayMs).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}
