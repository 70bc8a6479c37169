import {
  invalidReviewDecision,
  reviewAlreadyDecided,
  reviewNotFound,
} from '../domain/risk-errors.js';
import type { Review, ReviewOutcome, RiskStore } from '../domain/risk-store.js';

export interface ReviewDecisionInput {
  readonly orderId: string;
  readonly decision: 'APPROVE' | 'REJECT';
  readonly userId: string;
}

export type ReviewDecisionResult =
  | { readonly kind: 'decided'; readonly review: Review; readonly outcome: ReviewOutcome }
  | { readonly kind: 'replayed'; readonly review: Review };

const statusOf = { APPROVE: 'APPROVED', REJECT: 'REJECTED' } as const;

/**
 * An admin's decision about a held order. The same decision again is answered as it is (retries
 * are safe); another decision about a review already ended is RISK_REVIEW_ALREADY_DECIDED, an order
 * never held RISK_REVIEW_NOT_FOUND.
 */
export async function decideReview(
  store: Pick<RiskStore, 'lockReview' | 'closeReviews'>,
  input: ReviewDecisionInput,
  at: Date,
): Promise<ReviewDecisionResult> {
  if (input.userId === '') throw invalidReviewDecision('the deciding user is missing');
  const review = await store.lockReview(input.orderId);
  if (!review) throw reviewNotFound(input.orderId);
  if (review.status !== 'OPEN') {
    if (review.status === statusOf[input.decision] && review.decidedBy === 'ADMIN') {
      return { kind: 'replayed', review };
    }
    throw reviewAlreadyDecided(input.orderId, review.status);
  }
  const outcome: ReviewOutcome = {
    orderId: review.orderId,
    decision: input.decision,
    decidedBy: 'ADMIN',
    decidedByUser: input.userId,
    failPolicy: false,
    at,
  };
  await store.closeReviews([outcome]);
  return {
    kind: 'decided',
    review: {
      ...review,
      status: statusOf[input.decision],
      decidedAt: at,
      decidedBy: 'ADMIN',
      decidedByUser: input.userId,
    },
    outcome,
  };
}
