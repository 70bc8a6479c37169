import type { Sql } from '@orderly/platform';
import { openOrdersBacklog } from '../data-access/order-repository.js';

export interface SagaBacklog {
  readonly open: number;
  readonly oldestAgeMs: number;
}

/**
 * The open sagas as last counted, for intake backpressure and for the timeout sweep, measured so
 * that an idle service runs no query on a timer: while nothing is open and this process placed
 * nothing since the last count, the count is repeated only every `idleRecheckMs` (orders placed
 * by other replicas are seen by then).
 */
export class SagaBacklogMonitor {
  private last: SagaBacklog = { open: 0, oldestAgeMs: 0 };
  private measuredAt: number | undefined;
  private placedSinceCount = false;

  constructor(
    private readonly db: Sql,
    private readonly idleRecheckMs: () => number,
    private readonly now: () => number = Date.now,
  ) {}

  get current(): SagaBacklog {
    return this.last;
  }

  /** This process accepted an order: the next count must run. */
  placed(): void {
    this.placedSinceCount = true;
  }

  /** The periodic count; skips the query while idle (see the class comment). */
  async count(): Promise<void> {
    const idle = this.last.open === 0 && !this.placedSinceCount;
    if (
      idle &&
      this.measuredAt !== undefined &&
      this.now() - this.measuredAt < this.idleRecheckMs()
    )
      return;
    this.placedSinceCount = false;
    const measuredAt = this.now();
    this.last = await openOrdersBacklog(this.db);
    this.measuredAt = measuredAt;
  }

  /**
   * False when no open saga can have passed `timeoutMs` yet: every saga open at the last count was
   * at most `oldestAgeMs` old then, and every later one is younger than the time since. The sweep
   * then needs no transaction. True before the first count.
   */
  mayHaveTimedOut(timeoutMs: number): boolean {
    if (this.measuredAt === undefined) return true;
    return this.now() >= this.measuredAt + timeoutMs - this.last.oldestAgeMs;
  }
}
