import type { Database, TimelineEntry } from '@orderly/platform';

/** The message sent about an order, as the operator console shows it (runtime.timeline). */
export async function notificationTimeline(
  db: Database,
  orderId: string,
  signal: AbortSignal,
): Promise<TimelineEntry[]> {
  const { rows } = await db.query<{ kind: string; created_at: Date }>(
    'SELECT kind, created_at FROM notifications WHERE order_id = $1',
    [orderId],
    { signal },
  );
  return rows.map((n) => ({
    at: n.created_at.toISOString(),
    what: `customer notified: ${n.kind}`,
  }));
}
