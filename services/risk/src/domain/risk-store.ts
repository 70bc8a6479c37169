import type { PluginOutcome } from '../plugins/risk-engine.js';
import type { DecidedBy, Decision, RiskDecision } from './decision.js';
import type { AssessmentRequest, CustomerHistory } from './features.js';

/** An assessment as stored: the request, the first decision and the shadow outcome if any. */
export interface AssessmentRecord {
  readonly request: AssessmentRequest;
  readonly decision: RiskDecision;
  readonly shadow: PluginOutcome | undefined;
  /** Plugin calls the enforced outcome took (more than 1 when a transient failure was retried). */
  readonly attempts?: number;
  readonly assessedAt: Date;
}

export type ReviewStatus = 'OPEN' | 'APPROVED' | 'REJECTED';

/** An order held for review, with what its assessment said. */
export interface Review {
  readonly orderId: string;
  readonly customerId: string;
  readonly amountCents: bigint;
  readonly currency: string;
  readonly score: number;
  readonly reasons: readonly string[];
  readonly plugin: { name: string; version: string; sha256: string } | undefined;
  readonly failPolicy: boolean;
  readonly status: ReviewStatus;
  readonly openedAt: Date;
  readonly dueAt: Date;
  readonly decidedAt: Date | undefined;
  readonly decidedBy: Extract<DecidedBy, 'ADMIN' | 'REVIEW_TIMEOUT'> | undefined;
  readonly decidedByUser: string | undefined;
}

/** How a review ended. */
export interface ReviewOutcome {
  readonly orderId: string;
  readonly decision: Extract<Decision, 'APPROVE' | 'REJECT'>;
  readonly decidedBy: Extract<DecidedBy, 'ADMIN' | 'REVIEW_TIMEOUT'>;
  readonly decidedByUser: string | undefined;
  readonly failPolicy: boolean;
  readonly at: Date;
}

/** What the use cases need from storage, inside one transaction. */
export interface RiskStore {
  /** Of `orderIds`, those already assessed. */
  assessedAmong(orderIds: readonly string[]): Promise<ReadonlySet<string>>;
  /** Each customer's history: orders in the window since `windowStart`, declines, first seen. */
  customerHistory(
    customerIds: readonly string[],
    windowStart: Date,
  ): Promise<ReadonlyMap<string, CustomerHistory>>;
  /** Stores the assessments and opens a review (due at `reviewDueAt`) for each REVIEW. */
  insertAssessments(records: readonly AssessmentRecord[], reviewDueAt: Date): Promise<void>;
  /** The review of an order, locked until the transaction ends. */
  lockReview(orderId: string): Promise<Review | undefined>;
  /** Up to `limit` open reviews due before `now` that nobody else holds, locked, oldest first. */
  lockDueReviews(now: Date, limit: number): Promise<Review[]>;
  /** Ends the reviews (and sets their assessments' final decision). */
  closeReviews(outcomes: readonly ReviewOutcome[]): Promise<void>;
  /** Open reviews, oldest first. */
  openReviews(limit: number): Promise<Review[]>;
  findReview(orderId: string): Promise<Review | undefined>;
  countOpenReviews(): Promise<number>;
}
