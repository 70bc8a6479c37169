import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { DecidedBy } from '@orderly/risk-contract/risk_events';
import { ReviewStatus, type Review } from '@orderly/risk-contract/risk_service';
import { upstreamInvalidResponse } from '../http/http-errors.js';
import { cents } from '../http/money-json.js';
import type { decidedBys, reviewStatuses } from './risk-review-schemas.js';

/** Proto ↔ public JSON of a risk review. */
export interface ReviewJson {
  orderId: string;
  customerId: string;
  amountCents: number;
  currency: string;
  score: number;
  reasons: string[];
  plugin?: { name: string; version: string; sha256: string };
  failPolicy: boolean;
  status: (typeof reviewStatuses)[number];
  openedAt: string;
  dueAt: string;
  decidedAt?: string;
  decidedBy?: (typeof decidedBys)[number];
  decidedByUser?: string;
}

const statusNames = new Map<ReviewStatus, ReviewJson['status']>([
  [ReviewStatus.OPEN, 'OPEN'],
  [ReviewStatus.APPROVED, 'APPROVED'],
  [ReviewStatus.REJECTED, 'REJECTED'],
]);

const decidedByNames = new Map<DecidedBy, NonNullable<ReviewJson['decidedBy']>>([
  [DecidedBy.RULE, 'RULE'],
  [DecidedBy.FAIL_POLICY, 'FAIL_POLICY'],
  [DecidedBy.ADMIN, 'ADMIN'],
  [DecidedBy.REVIEW_TIMEOUT, 'REVIEW_TIMEOUT'],
]);

function isoTime(timestamp: Timestamp | undefined): string {
  if (!timestamp) throw upstreamInvalidResponse('a timestamp');
  return timestampDate(timestamp).toISOString();
}

export function reviewToJson(review: Review | undefined): ReviewJson {
  if (!review) throw upstreamInvalidResponse('risk');
  const status = statusNames.get(review.status);
  if (!status) throw upstreamInvalidResponse('a review status');
  const json: ReviewJson = {
    orderId: review.orderId,
    customerId: review.customerId,
    amountCents: cents(review.amountCents),
    currency: review.currency,
    score: review.score,
    reasons: [...review.reasons],
    failPolicy: review.failPolicy,
    status,
    openedAt: isoTime(review.openedAt),
    dueAt: isoTime(review.dueAt),
  };
  if (review.plugin) {
    const { name, version, sha256 } = review.plugin;
    json.plugin = { name, version, sha256 };
  }
  if (review.decidedAt) json.decidedAt = isoTime(review.decidedAt);
  const decidedBy = decidedByNames.get(review.decidedBy);
  if (decidedBy) json.decidedBy = decidedBy;
  if (review.decidedByUser) json.decidedByUser = review.decidedByUser;
  return json;
}
