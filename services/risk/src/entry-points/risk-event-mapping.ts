import { timestampDate, timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type { Outbox, PreparedEvent } from '@orderly/platform';
import type { RiskAssessmentRequested } from '@orderly/order-contract/order_events';
import {
  DecidedBy as DecidedByProto,
  Decision as DecisionProto,
  RiskAssessedSchema,
  type PluginRefSchema,
} from '@orderly/risk-contract/risk_events';
import {
  ReviewStatus as ReviewStatusProto,
  type ReviewSchema,
} from '@orderly/risk-contract/risk_service';
import type { DecidedBy, Decision } from '../domain/decision.js';
import type { AssessmentRequest } from '../domain/features.js';
import type { Review, ReviewStatus } from '../domain/risk-store.js';

/** The bus and RPC boundary's mapping: money is bigint cents on both sides. */

export function requestFromEvent(event: RiskAssessmentRequested): AssessmentRequest {
  return {
    orderId: event.orderId,
    customerId: event.customerId,
    amountCents: event.amountCents,
    // An order without a currency predates issue 17: the shop sold in EUR only.
    currency: event.currency === '' ? 'EUR' : event.currency,
    lines: event.lines.map(({ sku, quantity, unitPriceCents }) => ({
      sku,
      quantity,
      unitPriceCents,
    })),
    placedAt: event.placedAt ? timestampDate(event.placedAt) : new Date(0),
  };
}

export const decisionToProto: Readonly<Record<Decision, DecisionProto>> = {
  APPROVE: DecisionProto.APPROVE,
  REVIEW: DecisionProto.REVIEW,
  REJECT: DecisionProto.REJECT,
};

const decidedByToProto: Readonly<Record<DecidedBy, DecidedByProto>> = {
  RULE: DecidedByProto.RULE,
  FAIL_POLICY: DecidedByProto.FAIL_POLICY,
  ADMIN: DecidedByProto.ADMIN,
  REVIEW_TIMEOUT: DecidedByProto.REVIEW_TIMEOUT,
};

const reviewStatusToProto: Readonly<Record<ReviewStatus, ReviewStatusProto>> = {
  OPEN: ReviewStatusProto.OPEN,
  APPROVED: ReviewStatusProto.APPROVED,
  REJECTED: ReviewStatusProto.REJECTED,
};

type PluginInit = MessageInitShape<typeof PluginRefSchema>;

export interface RiskAssessedInit {
  readonly orderId: string;
  readonly customerId: string;
  readonly decision: Decision;
  readonly reasons: readonly string[];
  readonly score: number;
  readonly plugin: PluginInit | undefined;
  readonly failPolicy: boolean;
  readonly decidedBy: DecidedBy;
}

/** RiskAssessed for the outbox, in the active trace (call it in the cause's trace). */
export function prepareRiskAssessed(
  outbox: Pick<Outbox, 'prepare'>,
  init: RiskAssessedInit,
): PreparedEvent {
  return outbox.prepare(
    RiskAssessedSchema,
    {
      orderId: init.orderId,
      customerId: init.customerId,
      decision: decisionToProto[init.decision],
      reasons: [...init.reasons],
      score: init.score,
      ...(init.plugin ? { plugin: init.plugin } : {}),
      failPolicy: init.failPolicy,
      decidedBy: decidedByToProto[init.decidedBy],
    },
    { correlation: { 'order.id': init.orderId } },
  ).prepared;
}

export function reviewToProto(review: Review): MessageInitShape<typeof ReviewSchema> {
  return {
    orderId: review.orderId,
    customerId: review.customerId,
    amountCents: review.amountCents,
    currency: review.currency,
    score: review.score,
    reasons: [...review.reasons],
    ...(review.plugin ? { plugin: review.plugin } : {}),
    failPolicy: review.failPolicy,
    status: reviewStatusToProto[review.status],
    openedAt: timestampFromDate(review.openedAt),
    dueAt: timestampFromDate(review.dueAt),
    ...(review.decidedAt ? { decidedAt: timestampFromDate(review.decidedAt) } : {}),
    ...(review.decidedBy ? { decidedBy: decidedByToProto[review.decidedBy] } : {}),
    decidedByUser: review.decidedByUser ?? '',
  };
}
