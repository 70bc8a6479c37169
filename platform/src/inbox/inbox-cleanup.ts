import type { Sql } from '../db/index.js';

/**
 * Deletes inbox rows older than `retentionMs`, `batchSize` at a time (each batch its own short
 * statement, so no long lock or transaction), oldest first, until a batch comes back short or
 * `continues()` says stop. The index `inbox_processed_at` keeps each batch an index range scan: the
 * cut-off uses `now()` (stable), not `clock_timestamp()` (volatile), which the planner cannot use as an
 * index condition — it would filter every row of the index when nothing is old enough.
 * Returns how many rows went. `retentionMs` must exceed the bus's redelivery horizon (see
 * `inboxRedeliveryHorizonMs`): a redelivery of an event whose row is gone would be applied again.
 */
export async function pruneInbox(
  db: Sql,
  options: {
    readonly retentionMs: number;
    readonly batchSize: number;
    readonly continues?: () => boolean;
  },
): Promise<number> {
  let deleted = 0;
  for (;;) {
    const { rowCount } = await db.query(
      `DELETE FROM inbox WHERE ctid = ANY(ARRAY(
         SELECT ctid FROM inbox
          WHERE processed_at < now() - make_interval(secs => $1::double precision / 1000)
          ORDER BY processed_at LIMIT $2))`,
      [options.retentionMs, options.batchSize],
    );
    deleted += rowCount;
    if (rowCount < options.batchSize || !(options.continues?.() ?? true)) return deleted;
  }
}
