import { reviewTimeoutDecision, type FailPolicy } from '../domain/decision.js';
import type { Review, ReviewOutcome, RiskStore } from '../domain/risk-store.js';

/**
 * Ends up to `limit` reviews nobody decided by their due time with the fail policy (marked):
 * `approve` approves, `reject` and `review` reject (the order cannot be held longer: its stock is
 * reserved meanwhile). Reviews another sweeper holds are skipped.
 */
export async function timeOutReviews(
  store: Pick<RiskStore, 'lockDueReviews' | 'closeReviews'>,
  policy: FailPolicy,
  now: Date,
  limit: number,
): Promise<{ review: Review; outcome: ReviewOutcome }[]> {
  const due = await store.lockDueReviews(now, limit);
  const decision = reviewTimeoutDecision(policy);
  const ended = due.map((review) => ({
    review,
    outcome: {
      orderId: review.orderId,
      decision,
      decidedBy: 'REVIEW_TIMEOUT' as const,
      decidedByUser: undefined,
      failPolicy: true,
      at: now,
    },
  }));
  await store.closeReviews(ended.map((e) => e.outcome));
  return ended;
}
