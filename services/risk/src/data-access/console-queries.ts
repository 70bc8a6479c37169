import type { Database, OperatorSummary, TimelineEntry } from '@orderly/platform';

/** An order's assessment and review as the operator console shows them (runtime.timeline). */
export async function riskTimeline(
  db: Database,
  orderId: string,
  signal: AbortSignal,
): Promise<TimelineEntry[]> {
  const { rows } = await db.query<{
    decision: string;
    decided_by: string;
    score: number;
    reasons: string[];
    plugin: string | null;
    fail_policy: boolean;
    plugin_attempts: number | null;
    assessed_at: Date;
    status: string | null;
    review_decided_by: string | null;
    decided_at: Date | null;
  }>(
    `SELECT a.decision, a.decided_by, a.score, a.reasons,
            a.plugin_name || '@' || a.plugin_version AS plugin, a.fail_policy, a.plugin_attempts,
            a.assessed_at,
            r.status, r.decided_by AS review_decided_by, r.decided_at
       FROM assessments a LEFT JOIN reviews r ON r.order_id = a.order_id
      WHERE a.order_id = $1`,
    [orderId],
    { signal },
  );
  return rows.flatMap((row) => [
    {
      at: row.assessed_at.toISOString(),
      what:
        `risk ${row.decision} by ${row.decided_by}${row.fail_policy ? ' (fail policy)' : ''}, ` +
        `score ${row.score}${row.reasons.length > 0 ? ` ${row.reasons.join(',')}` : ''}` +
        `${row.plugin ? ` (${row.plugin})` : ''}` +
        `${(row.plugin_attempts ?? 1) > 1 ? ` after ${row.plugin_attempts} attempts` : ''}`,
    },
    ...(row.decided_at && row.status
      ? [
          {
            at: row.decided_at.toISOString(),
            what: `review ${row.status} by ${row.review_decided_by ?? '?'}`,
          },
        ]
      : []),
  ]);
}

/** The review queue for the console's overview (runtime.summary). */
export async function riskSummary(db: Database, signal: AbortSignal): Promise<OperatorSummary> {
  const { rows } = await db.query<{ open: number }>(
    `SELECT count(*)::int AS open FROM reviews WHERE status = 'OPEN'`,
    [],
    { signal },
  );
  return { openReviews: rows[0]?.open ?? 0 };
}
