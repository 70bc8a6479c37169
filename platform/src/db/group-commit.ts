/**
 * Group commit: concurrent units of work are gathered into batches that run as one transaction
 * each, so many callers share one commit (one fsync) and a handful of round trips.
 *
 * Batches form naturally: a submission starts a batch at once when fewer than `maxInFlight` are
 * running, otherwise it waits for the next free slot and joins whatever queued meanwhile (at most
 * `maxBatch`). An idle system therefore adds no latency, and a busy one batches more.
 */
export interface GroupCommitOptions {
  /** Most units in one batch. */
  readonly maxBatch: number;
  /** Batches running at once (each holds one database connection). */
  readonly maxInFlight: number;
}

/** Runs a whole batch; returns one outcome per unit, in order (an Error fails only that unit). */
export type BatchRunner<Unit, Outcome> = (
  units: readonly Unit[],
) => Promise<readonly (Outcome | Error)[]>;

interface Pending<Unit, Outcome> {
  readonly unit: Unit;
  readonly resolve: (outcome: Outcome) => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommit<Unit, Outcome> {
  private readonly queue: Pending<Unit, Outcome>[] = [];
  private inFlight = 0;
  private scheduled = false;

  constructor(
    private readonly options: () => GroupCommitOptions,
    private readonly run: BatchRunner<Unit, Outcome>,
  ) {}

  submit(unit: Unit): Promise<Outcome> {
    return new Promise<Outcome>((resolve, reject) => {
      this.queue.push({ unit, resolve, reject });
      this.schedule();
    });
  }

  /** Units submitted in the same turn of the event loop join one batch. */
  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.startBatches();
    });
  }

  private startBatches(): void {
    const { maxBatch, maxInFlight } = this.options();
    while (this.queue.length > 0 && this.inFlight < maxInFlight) {
      const batch = this.queue.splice(0, maxBatch);
      this.inFlight++;
      void this.runBatch(batch).finally(() => {
        this.inFlight--;
        if (this.queue.length > 0) this.startBatches();
      });
    }
  }

  private async runBatch(batch: readonly Pending<Unit, Outcome>[]): Promise<void> {
    try {
      const outcomes = await this.run(batch.map((p) => p.unit));
      batch.forEach((pending, index) => {
        const outcome = outcomes[index];
        if (outcome instanceof Error) pending.reject(outcome);
        else if (outcome === undefined)
          pending.reject(new Error('group commit returned no outcome for a unit'));
        else pending.resolve(outcome);
      });
    } catch (error) {
      // The transaction failed as a whole: nothing of this batch was committed.
      for (const pending of batch) pending.reject(error);
    }
  }
}
