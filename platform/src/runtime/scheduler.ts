import type { Logger } from '../log/index.js';

interface PeriodicTask {
  readonly name: string;
  readonly intervalMs: () => number;
  readonly run: () => Promise<void>;
  /** Also run once, awaited, before the consumers subscribe (see `every`). */
  readonly runBeforeConsumers: boolean;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

/**
 * A service's periodic tasks. Each runs `intervalMs()` after its previous run ended (never two runs
 * of one task at once); a failed run is logged and the task runs again at its next time.
 */
export class Scheduler {
  private readonly tasks: PeriodicTask[] = [];
  private ranBeforeConsumers = false;

  /** `stopping`: once true, no task is scheduled again (a run in progress finishes). */
  constructor(
    private readonly log: Logger,
    private readonly stopping: () => boolean,
  ) {}

  /** See `ServiceRuntime.every`. */
  every(
    name: string,
    intervalMs: () => number,
    run: () => Promise<void>,
    options: { readonly runBeforeConsumers?: boolean } = {},
  ): void {
    const runBeforeConsumers = options.runBeforeConsumers ?? false;
    this.tasks.push({ name, intervalMs, run, runBeforeConsumers });
  }

  /** The first time only: runs the `runBeforeConsumers` tasks one after the other; a failure throws. */
  async runBeforeConsumers(): Promise<void> {
    if (this.ranBeforeConsumers) return;
    this.ranBeforeConsumers = true;
    for (const task of this.tasks) if (task.runBeforeConsumers) await task.run();
  }

  /** Schedules every task added so far. */
  start(): void {
    for (const task of this.tasks) this.schedule(task);
  }

  /** Cancels the next runs and waits for the runs in progress. */
  async stop(): Promise<void> {
    for (const task of this.tasks) if (task.timer) clearTimeout(task.timer);
    await Promise.all(this.tasks.map((task) => task.running ?? Promise.resolve()));
  }

  private schedule(task: PeriodicTask): void {
    if (this.stopping()) return;
    task.timer = setTimeout(() => {
      task.running = task
        .run()
        .catch((error: unknown) =>
          this.log.error({ err: error, task: task.name }, 'periodic task failed'),
        )
        .finally(() => {
          task.running = undefined;
          this.schedule(task);
        });
    }, task.intervalMs());
  }
}
