import type { Logger, Outbox, Sql } from '@orderly/platform';
import type { Review, ReviewOutcome } from '../domain/risk-store.js';
import type { RiskMetrics } from './risk-metrics.js';
import { prepareRiskAssessed } from './risk-event-mapping.js';

/** Publishes the final RiskAssessed of each ended review, in the transaction that ended it. */
export async function publishReviewOutcomes(
  deps: { readonly outbox: Outbox; readonly log: Logger; readonly metrics: RiskMetrics },
  tx: Sql,
  ended: readonly { review: Review; outcome: ReviewOutcome }[],
): Promise<void> {
  await deps.outbox.addPrepared(
    tx,
    ended.map(({ review, outcome }) =>
      prepareRiskAssessed(deps.outbox, {
        orderId: review.orderId,
        customerId: review.customerId,
        decision: outcome.decision,
        reasons:
          outcome.decidedBy === 'ADMIN'
            ? [`ADMIN_${outcome.decision}`]
            : [`REVIEW_TIMEOUT_${outcome.decision}`],
        score: review.score,
        plugin: review.plugin,
        failPolicy: outcome.failPolicy,
        decidedBy: outcome.decidedBy,
      }),
    ),
  );
  for (const { outcome } of ended) {
    deps.metrics.decided(outcome.decision, outcome.decidedBy);
    deps.log.info(
      {
        orderId: outcome.orderId,
        decision: outcome.decision,
        decidedBy: outcome.decidedBy,
        failPolicy: outcome.failPolicy,
      },
      'review ended',
    );
  }
}
