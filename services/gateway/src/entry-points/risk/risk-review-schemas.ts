import { bearerSecurity, errorResponses } from '../http/json-schemas.js';

/** JSON schemas of /v1/admin/risk/reviews: the risk review queue, for the admin role only. */

export const reviewStatuses = ['OPEN', 'APPROVED', 'REJECTED'] as const;
export const decidedBys = ['RULE', 'FAIL_POLICY', 'ADMIN', 'REVIEW_TIMEOUT'] as const;

const adminErrors = [400, 401, 403, 429, 500, 503, 504];

export const reviewSchema = {
  type: 'object',
  additionalProperties: false,
  required: [
    'orderId',
    'customerId',
    'amountCents',
    'currency',
    'score',
    'reasons',
    'failPolicy',
    'status',
    'openedAt',
    'dueAt',
  ],
  properties: {
    orderId: { type: 'string', format: 'uuid' },
    customerId: { type: 'string' },
    amountCents: { type: 'integer', description: 'The order total in minor units.' },
    currency: { type: 'string', description: 'ISO 4217.' },
    score: { type: 'integer', minimum: 0, maximum: 1000 },
    reasons: {
      type: 'array',
      items: { type: 'string' },
      description: 'Reason codes of the rule plugin (e.g. AMOUNT_HIGH) or the fail policy.',
    },
    plugin: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'version', 'sha256'],
      description: 'The plugin that scored the order; absent when none could.',
      properties: {
        name: { type: 'string' },
        version: { type: 'string' },
        sha256: { type: 'string', pattern: '^[0-9a-f]{64}$' },
      },
    },
    failPolicy: {
      type: 'boolean',
      description: 'Held or decided by the fail policy (flag risk-fail-policy), not by a rule.',
    },
    status: { type: 'string', enum: reviewStatuses },
    openedAt: { type: 'string', format: 'date-time' },
    dueAt: {
      type: 'string',
      format: 'date-time',
      description: 'When the review timeout applies the fail policy if nobody decides first.',
    },
    decidedAt: { type: 'string', format: 'date-time' },
    decidedBy: { type: 'string', enum: decidedBys },
    decidedByUser: { type: 'string', description: 'The deciding admin (their user id).' },
  },
} as const;

export const listReviewsSchema = {
  operationId: 'listRiskReviews',
  summary: 'Orders held for risk review, oldest first (admin)',
  description:
    'An order the risk rules (or the fail policy) could neither approve nor reject waits here, its ' +
    'stock reserved and nothing charged, until an admin approves or rejects it, or the review ' +
    'timeout applies the fail policy.',
  tags: ['admin'],
  security: bearerSecurity,
  querystring: {
    type: 'object',
    additionalProperties: false,
    properties: { limit: { type: 'integer', minimum: 1, maximum: 1000 } },
  },
  response: {
    200: {
      description: 'The open reviews.',
      type: 'object',
      additionalProperties: false,
      required: ['reviews'],
      properties: { reviews: { type: 'array', items: reviewSchema } },
    },
    ...errorResponses(adminErrors),
  },
};

const orderIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId'],
  properties: { orderId: { type: 'string', format: 'uuid' } },
} as const;

function decideReviewSchema(decision: 'approve' | 'reject') {
  const outcome =
    decision === 'approve'
      ? 'its payment is requested'
      : 'it is cancelled (RISK_REJECTED): its stock is released, nothing was charged';
  return {
    operationId: decision === 'approve' ? 'approveRiskReview' : 'rejectRiskReview',
    summary: `${decision === 'approve' ? 'Approve' : 'Reject'} an order held for risk review (admin)`,
    description:
      `The order leaves the queue and ${outcome}. Idempotent: the same decision again answers the ` +
      'review as it is (200). An order never held is 404 RISK_REVIEW_NOT_FOUND; a review already ' +
      'decided otherwise (by another admin or the review timeout) is 409 RISK_REVIEW_ALREADY_DECIDED. ' +
      'No body (or {}).',
    tags: ['admin'],
    security: bearerSecurity,
    params: orderIdParams,
    response: {
      200: {
        description: 'The review as decided.',
        type: 'object',
        additionalProperties: false,
        required: ['review', 'replayed'],
        properties: {
          review: reviewSchema,
          replayed: { type: 'boolean', description: 'True when it already had this decision.' },
        },
      },
      ...errorResponses([404, 409, 413, 415, ...adminErrors]),
    },
  };
}

export const approveReviewSchema = decideReviewSchema('approve');
export const rejectReviewSchema = decideReviewSchema('reject');
