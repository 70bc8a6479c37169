import type { Client } from '@connectrpc/connect';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Decision } from '@orderly/risk-contract/risk_events';
import type { RiskService } from '@orderly/risk-contract/risk_service';
import { validationFailed } from '../http/http-errors.js';
import { limitAsNumber } from '../http/json-schemas.js';
import { callUpstream } from '../http/request-deadline.js';
import { principalOf } from '../http/request-security.js';
import { reviewToJson } from './risk-review-json.js';
import {
  approveReviewSchema,
  listReviewsSchema,
  rejectReviewSchema,
} from './risk-review-schemas.js';

export interface RiskReviewRoutesDeps {
  /** The risk service, called with the gateway's workload identity (risk's rpcCallers allow it). */
  readonly riskClient: Client<typeof RiskService>;
}

/** A decision takes no body: none, or `{}`. */
async function refuseBody(request: FastifyRequest): Promise<void> {
  const { body } = request;
  const empty =
    body === undefined ||
    (typeof body === 'object' &&
      body !== null &&
      !Array.isArray(body) &&
      Object.keys(body).length === 0);
  if (!empty) throw validationFailed('body must be empty (or {})');
  return Promise.resolve();
}

/**
 * GET /v1/admin/risk/reviews and POST /v1/admin/risk/reviews/{orderId}/approve | reject: the risk
 * review queue, admin role only. A decision records the admin's user id.
 */
export function registerRiskReviewRoutes(app: FastifyInstance, deps: RiskReviewRoutesDeps): void {
  const { riskClient } = deps;

  app.get<{ Querystring: { limit?: number } }>(
    '/v1/admin/risk/reviews',
    {
      schema: listReviewsSchema,
      config: { access: 'admin' },
      preValidation: async (request: FastifyRequest<{ Querystring: { limit?: unknown } }>) => {
        limitAsNumber(request.query);
        return Promise.resolve();
      },
    },
    async (request) => {
      const { reviews } = await callUpstream(request.deadline, 'risk.ListReviews', (options) =>
        riskClient.listReviews({ limit: request.query.limit ?? 0 }, options),
      );
      return { reviews: reviews.map(reviewToJson) };
    },
  );

  for (const [action, decision, schema] of [
    ['approve', Decision.APPROVE, approveReviewSchema],
    ['reject', Decision.REJECT, rejectReviewSchema],
  ] as const) {
    app.post<{ Params: { orderId: string } }>(
      `/v1/admin/risk/reviews/:orderId/${action}`,
      { schema, config: { access: 'admin' }, preValidation: refuseBody },
      async (request) => {
        const response = await callUpstream(request.deadline, 'risk.DecideReview', (options) =>
          riskClient.decideReview(
            {
              orderId: request.params.orderId,
              decision,
              userId: principalOf(request).sub,
            },
            options,
          ),
        );
        return { review: reviewToJson(response.review), replayed: response.replayed };
      },
    );
  }
}
