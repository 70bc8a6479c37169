import type { ConnectRouter } from '@connectrpc/connect';
import { deadlineOf, type Database, type Logger, type Outbox } from '@orderly/platform';
import { Decision as DecisionProto } from '@orderly/risk-contract/risk_events';
import { RiskService } from '@orderly/risk-contract/risk_service';
import { invalidReviewDecision } from '../domain/risk-errors.js';
import { riskStore } from '../data-access/risk-store.js';
import { decideReview } from '../use-cases/decide-review.js';
import { reviewToProto } from './risk-event-mapping.js';
import { publishReviewOutcomes } from './review-decisions.js';
import type { RiskMetrics } from './risk-metrics.js';

export interface RiskRpcDeps {
  readonly db: Database;
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly metrics: RiskMetrics;
  readonly clock: () => Date;
  readonly defaultTimeoutMs: () => number;
  readonly listLimitMax: () => number;
}

/** RiskService: the review queue. One transaction per call, under the caller's deadline. */
export function riskRpc(deps: RiskRpcDeps): (router: ConnectRouter) => void {
  return (router) =>
    router.service(RiskService, {
      async listReviews(request, context) {
        const max = deps.listLimitMax();
        if (request.limit < 0) throw invalidReviewDecision('limit must not be negative');
        const limit = request.limit === 0 ? max : Math.min(request.limit, max);
        const reviews = await deps.db.transaction(
          (tx) => riskStore(tx).openReviews(limit),
          deadlineOf(context, deps.defaultTimeoutMs()),
        );
        return { reviews: reviews.map(reviewToProto) };
      },

      async decideReview(request, context) {
        const decision =
          request.decision === DecisionProto.APPROVE
            ? 'APPROVE'
            : request.decision === DecisionProto.REJECT
              ? 'REJECT'
              : undefined;
        if (decision === undefined)
          throw invalidReviewDecision('decision must be APPROVE or REJECT');
        const result = await deps.db.transaction(
          async (tx) => {
            const decided = await decideReview(
              riskStore(tx),
              { orderId: request.orderId, decision, userId: request.userId },
              deps.clock(),
            );
            if (decided.kind === 'decided') {
              await publishReviewOutcomes(deps, tx, [
                { review: decided.review, outcome: decided.outcome },
              ]);
            }
            return decided;
          },
          deadlineOf(context, deps.defaultTimeoutMs()),
        );
        return { review: reviewToProto(result.review), replayed: result.kind === 'replayed' };
      },
    });
}
