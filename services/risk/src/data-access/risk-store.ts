import type { Sql } from '@orderly/platform';
import type { CustomerHistory } from '../domain/features.js';
import type { Review, ReviewStatus, RiskStore } from '../domain/risk-store.js';

/** RiskStore on SQL, in the caller's transaction; every batch method is one statement per table. */
export function riskStore(tx: Sql): RiskStore {
  return {
    async assessedAmong(orderIds) {
      if (orderIds.length === 0) return new Set();
      const { rows } = await tx.query<{ order_id: string }>(
        'SELECT order_id FROM assessments WHERE order_id = ANY($1::text[])',
        [orderIds],
      );
      return new Set(rows.map((r) => r.order_id));
    },

    async customerHistory(customerIds, windowStart) {
      if (customerIds.length === 0) return new Map();
      const { rows } = await tx.query<{
        customer_id: string;
        order_count: number;
        amount_cents: string;
        declines: number;
        first_seen_at: Date;
      }>(
        // Each part is bounded by an index (0003_bounded_history.sql): the window's rows, the
        // rejected rows, one probe for first seen — never the customer's whole history.
        `SELECT c.customer_id, w.order_count, w.amount_cents, d.declines, f.first_seen_at
           FROM unnest($1::text[]) AS c(customer_id)
          CROSS JOIN LATERAL (SELECT min(placed_at) AS first_seen_at
                                FROM assessments WHERE customer_id = c.customer_id) f
          CROSS JOIN LATERAL (SELECT count(*)::int AS order_count,
                                     coalesce(sum(amount_cents), 0)::text AS amount_cents
                                FROM assessments
                               WHERE customer_id = c.customer_id AND placed_at >= $2) w
          CROSS JOIN LATERAL (SELECT count(*)::int AS declines
                                FROM assessments
                               WHERE customer_id = c.customer_id AND final_decision = 'REJECT') d
          WHERE f.first_seen_at IS NOT NULL`,
        [[...new Set(customerIds)], windowStart],
      );
      return new Map(
        rows.map((r): [string, CustomerHistory] => [
          r.customer_id,
          {
            orderCount: r.order_count,
            amountCents: BigInt(r.amount_cents),
            declines: r.declines,
            firstSeenAt: r.first_seen_at,
          },
        ]),
      );
    },

    async insertAssessments(records, reviewDueAt) {
      if (records.length === 0) return;
      await tx.query(
        `INSERT INTO assessments (order_id, customer_id, amount_cents, currency, placed_at, decision,
                                  decided_by, reasons, score, plugin_name, plugin_version, plugin_sha256,
                                  fail_policy, failure, shadow, final_decision, assessed_at,
                                  plugin_attempts)
         SELECT a.order_id, a.customer_id, a.amount_cents, a.currency, a.placed_at, a.decision,
                a.decided_by, ARRAY(SELECT jsonb_array_elements_text(a.reasons)), a.score,
                a.plugin_name, a.plugin_version, a.plugin_sha256, a.fail_policy, a.failure, a.shadow,
                CASE WHEN a.decision = 'REVIEW' THEN NULL ELSE a.decision END, a.assessed_at,
                a.plugin_attempts
           FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::timestamptz[], $6::text[],
                       $7::text[], $8::jsonb[], $9::int[], $10::text[], $11::text[], $12::text[],
                       $13::boolean[], $14::text[], $15::jsonb[], $16::timestamptz[], $17::int[])
             AS a(order_id, customer_id, amount_cents, currency, placed_at, decision, decided_by,
                  reasons, score, plugin_name, plugin_version, plugin_sha256, fail_policy, failure,
                  shadow, assessed_at, plugin_attempts)
         ON CONFLICT (order_id) DO NOTHING`,
        [
          records.map((r) => r.request.orderId),
          records.map((r) => r.request.customerId),
          records.map((r) => r.request.amountCents),
          records.map((r) => r.request.currency),
          records.map((r) => r.request.placedAt),
          records.map((r) => r.decision.decision),
          records.map((r) => r.decision.decidedBy),
          records.map((r) => JSON.stringify(r.decision.reasons)),
          records.map((r) => r.decision.score),
          records.map((r) => r.decision.plugin?.name ?? null),
          records.map((r) => r.decision.plugin?.version ?? null),
          records.map((r) => r.decision.plugin?.sha256 ?? null),
          records.map((r) => r.decision.failPolicy),
          records.map((r) => r.decision.failure ?? null),
          records.map((r) => (r.shadow === undefined ? null : JSON.stringify(r.shadow))),
          records.map((r) => r.assessedAt),
          records.map((r) => r.attempts ?? null),
        ],
      );
      const held = records.filter((r) => r.decision.decision === 'REVIEW');
      if (held.length === 0) return;
      await tx.query(
        `INSERT INTO reviews (order_id, status, opened_at, due_at)
         SELECT order_id, 'OPEN', opened_at, $3 FROM unnest($1::text[], $2::timestamptz[]) AS r(order_id, opened_at)
         ON CONFLICT (order_id) DO NOTHING`,
        [held.map((r) => r.request.orderId), held.map((r) => r.assessedAt), reviewDueAt],
      );
    },

    async lockReview(orderId) {
      const { rows } = await tx.query<ReviewRow>(
        `${selectReview} WHERE r.order_id = $1 FOR UPDATE OF r`,
        [orderId],
      );
      return rows[0] && toReview(rows[0]);
    },

    async lockDueReviews(now, limit) {
      const { rows } = await tx.query<ReviewRow>(
        `${selectReview} WHERE r.status = 'OPEN' AND r.due_at <= $1
          ORDER BY r.due_at LIMIT $2 FOR UPDATE OF r SKIP LOCKED`,
        [now, limit],
      );
      return rows.map(toReview);
    },

    async closeReviews(outcomes) {
      if (outcomes.length === 0) return;
      await tx.query(
        `WITH closed AS (
           UPDATE reviews r SET status = CASE c.decision WHEN 'APPROVE' THEN 'APPROVED' ELSE 'REJECTED' END,
                                decided_at = c.at, decided_by = c.decided_by,
                                decided_by_user = c.decided_by_user, fail_policy = c.fail_policy
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::boolean[], $6::timestamptz[])
               AS c(order_id, decision, decided_by, decided_by_user, fail_policy, at)
            WHERE r.order_id = c.order_id
            RETURNING r.order_id, c.decision)
         UPDATE assessments a SET final_decision = closed.decision
           FROM closed WHERE a.order_id = closed.order_id`,
        [
          outcomes.map((o) => o.orderId),
          outcomes.map((o) => o.decision),
          outcomes.map((o) => o.decidedBy),
          outcomes.map((o) => o.decidedByUser ?? null),
          outcomes.map((o) => o.failPolicy),
          outcomes.map((o) => o.at),
        ],
      );
    },

    async openReviews(limit) {
      const { rows } = await tx.query<ReviewRow>(
        `${selectReview} WHERE r.status = 'OPEN' ORDER BY r.opened_at, r.order_id LIMIT $1`,
        [limit],
      );
      return rows.map(toReview);
    },

    async findReview(orderId) {
      const { rows } = await tx.query<ReviewRow>(`${selectReview} WHERE r.order_id = $1`, [
        orderId,
      ]);
      return rows[0] && toReview(rows[0]);
    },

    async countOpenReviews() {
      const { rows } = await tx.query<{ open: number }>(
        `SELECT count(*)::int AS open FROM reviews WHERE status = 'OPEN'`,
      );
      return rows[0]?.open ?? 0;
    },
  };
}

interface ReviewRow {
  order_id: string;
  customer_id: string;
  amount_cents: string;
  currency: string;
  score: number;
  reasons: string[];
  plugin_name: string | null;
  plugin_version: string | null;
  plugin_sha256: string | null;
  assessment_fail_policy: boolean;
  status: ReviewStatus;
  opened_at: Date;
  due_at: Date;
  decided_at: Date | null;
  decided_by: 'ADMIN' | 'REVIEW_TIMEOUT' | null;
  decided_by_user: string | null;
  review_fail_policy: boolean;
}

const selectReview = `
  SELECT r.order_id, a.customer_id, a.amount_cents::text AS amount_cents, a.currency, a.score, a.reasons,
         a.plugin_name, a.plugin_version, a.plugin_sha256, a.fail_policy AS assessment_fail_policy,
         r.status, r.opened_at, r.due_at, r.decided_at, r.decided_by, r.decided_by_user,
         r.fail_policy AS review_fail_policy
    FROM reviews r JOIN assessments a ON a.order_id = r.order_id`;

function toReview(row: ReviewRow): Review {
  return {
    orderId: row.order_id,
    customerId: row.customer_id,
    amountCents: BigInt(row.amount_cents),
    currency: row.currency,
    score: row.score,
    reasons: row.reasons,
    plugin:
      row.plugin_name === null
        ? undefined
        : {
            name: row.plugin_name,
            version: row.plugin_version ?? '',
            sha256: row.plugin_sha256 ?? '',
          },
    // Held by the fail policy, or ended by it (the review timeout).
    failPolicy: row.assessment_fail_policy || row.review_fail_policy,
    status: row.status,
    openedAt: row.opened_at,
    dueAt: row.due_at,
    decidedAt: row.decided_at ?? undefined,
    decidedBy: row.decided_by ?? undefined,
    decidedByUser: row.decided_by_user ?? undefined,
  };
}
