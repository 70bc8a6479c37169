import type { Sql } from '@orderly/platform';
import type { CancellationReason, Order, OrderLine, OrderStatus } from '../domain/order.js';

/** SQL for the order aggregate. Everything runs in the caller's transaction. */

interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  cancellation_reason: CancellationReason | null;
  payment_method: string;
  total_cents: string;
  reservation_id: string | null;
  placed_at: Date;
  request_fingerprint: string;
  lines: { sku: string; quantity: number; unit_price_cents: string | null }[];
  history: { status: OrderStatus; at: string }[];
}

const selectOrder = `
  SELECT o.id, o.customer_id, o.status, o.cancellation_reason, o.payment_method, o.total_cents,
         o.reservation_id, o.placed_at, o.request_fingerprint,
         (SELECT coalesce(json_agg(json_build_object('sku', l.sku, 'quantity', l.quantity,
                 'unit_price_cents', l.unit_price_cents::text) ORDER BY l.line_no), '[]')
            FROM order_lines l WHERE l.order_id = o.id) AS lines,
         (SELECT coalesce(json_agg(json_build_object('status', h.status, 'at', h.at) ORDER BY h.seq), '[]')
            FROM order_status_history h WHERE h.order_id = o.id) AS history
    FROM orders o`;

function toOrder(row: OrderRow): Order {
  return {
    id: row.id,
    customerId: row.customer_id,
    status: row.status,
    lines: row.lines.map((l): OrderLine => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPriceCents: l.unit_price_cents === null ? undefined : Number(l.unit_price_cents),
    })),
    totalCents: Number(row.total_cents),
    paymentMethod: row.payment_method,
    reservationId: row.reservation_id ?? undefined,
    cancellationReason: row.cancellation_reason ?? undefined,
    placedAt: row.placed_at,
    history: row.history.map((h) => ({ status: h.status, at: new Date(h.at) })),
  };
}

export async function findByIdempotencyKey(
  tx: Sql,
  customerId: string,
  idempotencyKey: string,
): Promise<{ order: Order; fingerprint: string } | undefined> {
  const { rows } = await tx.query<OrderRow>(
    `${selectOrder} WHERE o.customer_id = $1 AND o.idempotency_key = $2`,
    [customerId, idempotencyKey],
  );
  const row = rows[0];
  return row && { order: toOrder(row), fingerprint: row.request_fingerprint };
}

export async function findOrder(
  tx: Sql,
  orderId: string,
  options: { forUpdate?: boolean } = {},
): Promise<Order | undefined> {
  // Lock the order row first so two answers for one order are applied one after the other.
  if (options.forUpdate) {
    const locked = await tx.query('SELECT 1 FROM orders WHERE id = $1 FOR UPDATE', [orderId]);
    if (locked.rowCount === 0) return undefined;
  }
  const { rows } = await tx.query<OrderRow>(`${selectOrder} WHERE o.id = $1`, [orderId]);
  return rows[0] && toOrder(rows[0]);
}

export async function listOrders(tx: Sql, customerId: string, limit: number): Promise<Order[]> {
  const { rows } = await tx.query<OrderRow>(
    `${selectOrder} WHERE o.customer_id = $1 ORDER BY o.placed_at DESC, o.id LIMIT $2`,
    [customerId, limit],
  );
  return rows.map(toOrder);
}

/**
 * Persists a transition — the new state, priced lines if they changed, and the history entry — in
 * one statement: each statement is a round trip, and round trips are most of the saga's cost.
 */
export async function saveTransition(tx: Sql, before: Order, after: Order): Promise<void> {
  const change = after.history[after.history.length - 1];
  if (!change) return;
  const priced = after.lines !== before.lines ? after.lines : [];
  await tx.query(
    `WITH updated AS (
       UPDATE orders SET status = $2, cancellation_reason = $3, total_cents = $4, reservation_id = $5,
                         updated_at = $6
        WHERE id = $1
        RETURNING id),
     priced AS (
       UPDATE order_lines l SET unit_price_cents = p.price
         FROM unnest($7::text[], $8::bigint[]) AS p(sku, price)
        WHERE l.order_id = $1 AND l.sku = p.sku)
     INSERT INTO order_status_history (order_id, seq, status, at)
     SELECT id, $9, $2, $6 FROM updated`,
    [
      after.id,
      after.status,
      after.cancellationReason ?? null,
      after.totalCents,
      after.reservationId ?? null,
      change.at,
      priced.map((l) => l.sku),
      priced.map((l) => l.unitPriceCents ?? 0),
      after.history.length,
    ],
  );
}

/** Open orders placed before `cutoff`, locked for this sweeper (others skip them). */
export async function lockTimedOutOrders(tx: Sql, cutoff: Date, limit: number): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `SELECT id FROM orders WHERE status IN ('PENDING', 'STOCK_RESERVED') AND placed_at < $1
      ORDER BY placed_at LIMIT $2 FOR UPDATE SKIP LOCKED`,
    [cutoff, limit],
  );
  return rows.map((r) => r.id);
}

/** A new order as group commit hands it to storage. */
export interface NewOrderRecord {
  readonly order: Order;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
}

/**
 * Inserts a batch of new orders with one statement per table. Orders whose customer already used
 * the idempotency key are skipped (including a second use inside the same batch); returns the ids
 * that were inserted.
 */
export async function insertOrders(
  tx: Sql,
  records: readonly NewOrderRecord[],
): Promise<Set<string>> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO orders (id, customer_id, idempotency_key, request_fingerprint, status, payment_method,
                         total_cents, placed_at, updated_at)
     SELECT id, customer_id, idempotency_key, fingerprint, 'PENDING', payment_method, 0, placed_at, placed_at
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
         AS t(id, customer_id, idempotency_key, fingerprint, payment_method, placed_at)
     ON CONFLICT (customer_id, idempotency_key) DO NOTHING
     RETURNING id`,
    [
      records.map((r) => r.order.id),
      records.map((r) => r.order.customerId),
      records.map((r) => r.idempotencyKey),
      records.map((r) => r.fingerprint),
      records.map((r) => r.order.paymentMethod),
      records.map((r) => r.order.placedAt),
    ],
  );
  const inserted = new Set(rows.map((r) => r.id));
  const created = records.filter((r) => inserted.has(r.order.id)).map((r) => r.order);
  if (created.length === 0) return inserted;
  const lines = created.flatMap((order) =>
    order.lines.map((line, index) => ({ orderId: order.id, lineNo: index + 1, line })),
  );
  await tx.query(
    `INSERT INTO order_lines (order_id, line_no, sku, quantity)
     SELECT * FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[])`,
    [
      lines.map((l) => l.orderId),
      lines.map((l) => l.lineNo),
      lines.map((l) => l.line.sku),
      lines.map((l) => l.line.quantity),
    ],
  );
  await tx.query(
    `INSERT INTO order_status_history (order_id, seq, status, at)
     SELECT order_id, 1, 'PENDING', at FROM unnest($1::uuid[], $2::timestamptz[]) AS t(order_id, at)`,
    [created.map((o) => o.id), created.map((o) => o.placedAt)],
  );
  return inserted;
}

/** Sagas not yet decided and the age of the oldest (both served by the partial index orders_open). */
export async function openOrdersBacklog(db: Sql): Promise<{ open: number; oldestAgeMs: number }> {
  const { rows } = await db.query<{ open: number; oldest_age_ms: number | null }>(
    `SELECT count(*)::int AS open,
            (extract(epoch FROM clock_timestamp() - min(placed_at)) * 1000)::float8 AS oldest_age_ms
       FROM orders WHERE status IN ('PENDING', 'STOCK_RESERVED')`,
  );
  return { open: rows[0]?.open ?? 0, oldestAgeMs: rows[0]?.oldest_age_ms ?? 0 };
}
