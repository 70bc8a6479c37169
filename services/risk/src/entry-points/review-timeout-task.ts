import type { Database, Logger, Outbox } from '@orderly/platform';
import type { FailPolicy } from '../domain/decision.js';
import { riskStore } from '../data-access/risk-store.js';
import { timeOutReviews } from '../use-cases/time-out-reviews.js';
import { publishReviewOutcomes } from './review-decisions.js';
import type { RiskMetrics } from './risk-metrics.js';

export const reviewTimeoutTask = 'risk.time-out-reviews';

export interface ReviewTimeoutDeps {
  readonly db: Database;
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly metrics: RiskMetrics;
  readonly clock: () => Date;
  readonly failPolicy: () => Promise<FailPolicy>;
  readonly batchSize: () => number;
}

/**
 * One sweep: reviews past their due time get the fail policy (batch by batch, each in its own
 * transaction with its RiskAssessed events), then the open reviews are counted for the gauge.
 */
export async function sweepDueReviews(deps: ReviewTimeoutDeps): Promise<number> {
  const policy = await deps.failPolicy();
  let total = 0;
  for (;;) {
    const limit = deps.batchSize();
    const ended = await deps.db.transaction(async (tx) => {
      const done = await timeOutReviews(riskStore(tx), policy, deps.clock(), limit);
      await publishReviewOutcomes(deps, tx, done);
      return done.length;
    });
    total += ended;
    if (ended < limit) break;
  }
  deps.metrics.setOpenReviews(await deps.db.transaction((tx) => riskStore(tx).countOpenReviews()));
  return total;
}
