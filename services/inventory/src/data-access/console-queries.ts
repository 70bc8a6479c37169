import type { Database, TimelineEntry } from '@orderly/platform';

/** An order's reservation as the operator console shows it (runtime.timeline). Read-only. */
export async function reservationTimeline(
  db: Database,
  orderId: string,
  signal: AbortSignal,
): Promise<TimelineEntry[]> {
  const { rows } = await db.query<{
    id: string;
    status: string;
    created_at: Date;
    settled_at: Date | null;
  }>('SELECT id, status, created_at, settled_at FROM reservations WHERE order_id = $1', [orderId], {
    signal,
  });
  return rows.flatMap((r) => [
    { at: r.created_at.toISOString(), what: `reservation ${r.id} created` },
    ...(r.settled_at ? [{ at: r.settled_at.toISOString(), what: `reservation ${r.status}` }] : []),
  ]);
}
