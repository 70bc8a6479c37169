import type { Database, OperatorSummary, TimelineEntry } from '@orderly/platform';

/**
 * What the order database tells the operator console (runtime.timeline / runtime.summary): an
 * order's placement and status changes, and the mix of recent orders. Read-only.
 */
export async function orderTimeline(
  db: Database,
  orderId: string,
  signal: AbortSignal,
): Promise<TimelineEntry[]> {
  const { rows: orders } = await db.query<{
    customer_id: string;
    cancellation_reason: string | null;
    placed_at: Date;
  }>(
    'SELECT customer_id, cancellation_reason, placed_at FROM orders WHERE id::text = $1',
    [orderId],
    { signal },
  );
  const order = orders[0];
  if (!order) return [];
  const { rows: lines } = await db.query<{ sku: string; quantity: number }>(
    'SELECT sku, quantity FROM order_lines WHERE order_id::text = $1 ORDER BY line_no',
    [orderId],
    { signal },
  );
  const { rows: history } = await db.query<{ status: string; at: Date }>(
    'SELECT status, at FROM order_status_history WHERE order_id::text = $1 ORDER BY seq',
    [orderId],
    { signal },
  );
  return [
    {
      at: order.placed_at.toISOString(),
      what: `placed by ${order.customer_id}: ${lines.map((l) => `${l.quantity}× ${l.sku}`).join(', ')}`,
    },
    ...history.map((change) => ({
      at: change.at.toISOString(),
      what:
        change.status === 'CANCELLED' && order.cancellation_reason
          ? `status CANCELLED (${order.cancellation_reason})`
          : `status ${change.status}`,
    })),
  ];
}

/** Orders placed in the last `windowMs` by status, and those placed in the last minute. */
export async function orderSummary(
  db: Database,
  windowMs: number,
  signal: AbortSignal,
): Promise<OperatorSummary> {
  const { rows } = await db.query<{ status: string; orders: string; last_minute: string }>(
    `SELECT status, count(*) AS orders,
            count(*) FILTER (WHERE placed_at >= now() - interval '1 minute') AS last_minute
       FROM orders WHERE placed_at >= now() - make_interval(secs => $1::double precision / 1000)
      GROUP BY status`,
    [windowMs],
    { signal },
  );
  return {
    ordersByStatus: Object.fromEntries(rows.map((r) => [r.status, Number(r.orders)])),
    ordersPlacedLastMinute: rows.reduce((sum, r) => sum + Number(r.last_minute), 0),
    ordersWindowMinutes: windowMs / 60_000,
  };
}
