import type { Sql } from '@orderly/platform';
import {
  isOrderId,
  type CancellationReason,
  type Order,
  type OrderStatus,
  type RiskReview,
} from '../domain/order.js';
import type {
  NewOrder,
  OrderChange,
  OrderFilter,
  OrderPage,
  OrderPosition,
} from '../domain/order-store.js';

/** SQL for the order aggregate. Everything runs in the caller's transaction. */

interface OrderRow {
  id: string;
  customer_id: string;
  status: OrderStatus;
  cancellation_reason: CancellationReason | null;
  payment_method: string;
  total_cents: string;
  currency: string;
  reservation_id: string | null;
  placed_at: Date;
  request_fingerprint: string;
  cancel_request_key: string | null;
  risk_review: RiskReview | null;
  risk_released_at: Date | null;
  lines: { sku: string; quantity: number; unit_price_cents: string | null }[];
  history: { status: OrderStatus; at: string }[];
}

const selectOrder = `
  SELECT o.id, o.customer_id, o.status, o.cancellation_reason, o.payment_method, o.total_cents,
         o.currency, o.reservation_id, o.placed_at, o.request_fingerprint, o.cancel_request_key,
         o.risk_review, o.risk_released_at,
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
    lines: row.lines.map((l) => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPriceCents: l.unit_price_cents === null ? undefined : BigInt(l.unit_price_cents),
    })),
    totalCents: BigInt(row.total_cents),
    currency: row.currency,
    paymentMethod: row.payment_method,
    reservationId: row.reservation_id ?? undefined,
    cancellationReason: row.cancellation_reason ?? undefined,
    placedAt: row.placed_at,
    history: row.history.map((h) => ({ status: h.status, at: new Date(h.at) })),
    cancelRequestKey: row.cancel_request_key ?? undefined,
    riskReview: row.risk_review ?? undefined,
    riskReleasedAt: row.risk_released_at ?? undefined,
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

export async function findOrder(tx: Sql, orderId: string): Promise<Order | undefined> {
  const { rows } = await tx.query<OrderRow>(`${selectOrder} WHERE o.id = $1`, [orderId]);
  return rows[0] && toOrder(rows[0]);
}

/**
 * A page of orders matching `filter`, newest first (placed_at, then id, both descending), after
 * `after`: one statement that fetches one order more than `limit` to know whether a next page
 * exists. The position is compared as the database keeps placed_at (microseconds), never through a
 * JavaScript Date (milliseconds), which would skip or repeat orders placed within one millisecond.
 * Served by the indexes of migration 0002 (customer, status or time first, then placed_at and id).
 */
export async function pageOrders(
  tx: Sql,
  filter: OrderFilter,
  after: OrderPosition | undefined,
  limit: number,
): Promise<OrderPage> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const bind = (value: unknown) => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.customerId !== undefined)
    conditions.push(`o.customer_id = ${bind(filter.customerId)}`);
  if (filter.status !== undefined) conditions.push(`o.status = ${bind(filter.status)}`);
  if (filter.placedFrom !== undefined) conditions.push(`o.placed_at >= ${bind(filter.placedFrom)}`);
  if (filter.placedTo !== undefined) conditions.push(`o.placed_at < ${bind(filter.placedTo)}`);
  if (after !== undefined) {
    conditions.push(
      `(o.placed_at, o.id) < (${bind(after.placedAt)}::timestamptz, ${bind(after.orderId)}::uuid)`,
    );
  }
  const where = conditions.length > 0 ? `WHERE ${conditions.join(' AND ')}` : '';
  const { rows } = await tx.query<OrderRow & { position: string }>(
    `SELECT page.*, to_char(page.placed_at AT TIME ZONE 'UTC', ${positionFormat}) AS position
       FROM (${selectOrder} ${where} ORDER BY o.placed_at DESC, o.id DESC LIMIT ${bind(limit + 1)}) page
      ORDER BY page.placed_at DESC, page.id DESC`,
    values,
  );
  const shown = rows.slice(0, limit);
  const last = shown.at(-1);
  return {
    orders: shown.map(toOrder),
    next: rows.length > limit && last ? { placedAt: last.position, orderId: last.id } : undefined,
  };
}

/** placed_at in UTC with its microseconds: `2026-01-02T03:04:05.678901Z`. */
const positionFormat = `'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'`;

/**
 * Locks the orders among `orderIds` that exist and loads them, in one statement; the map is keyed
 * by the ids as given. Rows are locked in id order, so two runs that share orders queue behind
 * each other instead of deadlocking. An id that is not a UUID names no order (rather than failing
 * the statement for the whole run).
 */
export async function lockOrders(
  tx: Sql,
  orderIds: readonly string[],
): Promise<Map<string, Order>> {
  const ids = orderIds.filter(isOrderId);
  if (ids.length === 0) return new Map();
  const { rows } = await tx.query<OrderRow>(
    `${selectOrder} WHERE o.id = ANY($1::uuid[]) ORDER BY o.id FOR UPDATE OF o`,
    [ids],
  );
  // PostgreSQL spells a uuid in lower case.
  const orders = new Map(
    (await withCurrentLinesAndHistory(tx, rows)).map((order) => [order.id, order]),
  );
  return new Map(
    ids.flatMap((id) => {
      const order = orders.get(id.toLowerCase());
      return order ? [[id, order] as const] : [];
    }),
  );
}

/**
 * Open orders placed (or released by a review) before `cutoff`, locked for this sweeper (others
 * skip them) and loaded. Orders held for review are not swept: risk's review timeout decides them.
 */
export async function lockTimedOutOrders(tx: Sql, cutoff: Date, limit: number): Promise<Order[]> {
  const { rows } = await tx.query<OrderRow>(
    `${selectOrder} WHERE o.status IN ('PENDING', 'STOCK_RESERVED') AND o.placed_at < $1
        AND o.risk_review IS DISTINCT FROM 'HELD' AND coalesce(o.risk_released_at, o.placed_at) < $1
      ORDER BY o.placed_at LIMIT $2 FOR UPDATE OF o SKIP LOCKED`,
    [cutoff, limit],
  );
  return withCurrentLinesAndHistory(tx, rows);
}

/**
 * A locking read that had to wait for another transaction returns that transaction's version of
 * the order row, but its lines and history as of the statement's start (PostgreSQL re-reads only
 * the locked row). Every transition changes the status and appends it to the history, and no
 * status comes back, so history whose last entry is not the row's status missed a transition:
 * those orders (rare: only when two answers for one order raced) are read again, now that they
 * are locked.
 */
async function withCurrentLinesAndHistory(tx: Sql, rows: readonly OrderRow[]): Promise<Order[]> {
  const stale = rows.filter((row) => row.history.at(-1)?.status !== row.status).map((r) => r.id);
  if (stale.length === 0) return rows.map(toOrder);
  const { rows: reread } = await tx.query<OrderRow>(`${selectOrder} WHERE o.id = ANY($1::uuid[])`, [
    stale,
  ]);
  const current = new Map(reread.map((row) => [row.id, row]));
  return rows.map((row) => toOrder(current.get(row.id) ?? row));
}

/**
 * Persists the changes of many orders — new state, priced lines where they changed, and every
 * history entry added since `before` — in one statement: each statement is a round trip, and
 * round trips are most of the saga's cost.
 */
export async function saveChanges(tx: Sql, changes: readonly OrderChange[]): Promise<void> {
  // A status change grows the history; the risk step changes risk_review without one.
  const changed = changes.filter(
    (c) =>
      c.after.history.length > c.before.history.length ||
      c.after.riskReview !== c.before.riskReview,
  );
  if (changed.length === 0) return;
  const priced = changed.flatMap(({ before, after }) =>
    after.lines !== before.lines ? after.lines.map((line) => ({ orderId: after.id, line })) : [],
  );
  const history = changed.flatMap(({ before, after }) =>
    after.history.slice(before.history.length).map((change, index) => ({
      orderId: after.id,
      seq: before.history.length + index + 1,
      change,
    })),
  );
  await tx.query(
    `WITH changed AS (
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::bigint[], $5::text[], $6::timestamptz[], $14::text[],
                       $15::text[], $16::timestamptz[], $17::timestamptz[], $18::text[])
         AS c(id, status, cancellation_reason, total_cents, reservation_id, at, cancel_request_key,
              risk_review, risk_released_at, updated_at, currency)),
     updated AS (
       UPDATE orders o SET status = c.status, cancellation_reason = c.cancellation_reason,
                           total_cents = c.total_cents, reservation_id = c.reservation_id,
                           cancel_request_key = c.cancel_request_key, updated_at = c.updated_at,
                           risk_review = c.risk_review, risk_released_at = c.risk_released_at,
                           currency = c.currency
         FROM changed c
        WHERE o.id = c.id
        RETURNING o.id),
     priced AS (
       UPDATE order_lines l SET unit_price_cents = p.price
         FROM unnest($7::uuid[], $8::text[], $9::bigint[]) AS p(order_id, sku, price)
        WHERE l.order_id = p.order_id AND l.sku = p.sku)
     INSERT INTO order_status_history (order_id, seq, status, at)
     SELECT h.order_id, h.seq, h.status, h.at
       FROM unnest($10::uuid[], $11::int[], $12::text[], $13::timestamptz[]) AS h(order_id, seq, status, at)
       JOIN updated u ON u.id = h.order_id`,
    [
      changed.map((c) => c.after.id),
      changed.map((c) => c.after.status),
      changed.map((c) => c.after.cancellationReason ?? null),
      changed.map((c) => c.after.totalCents),
      changed.map((c) => c.after.reservationId ?? null),
      changed.map((c) => c.after.history.at(-1)!.at),
      priced.map((p) => p.orderId),
      priced.map((p) => p.line.sku),
      priced.map((p) => p.line.unitPriceCents ?? 0n),
      history.map((h) => h.orderId),
      history.map((h) => h.seq),
      history.map((h) => h.change.status),
      history.map((h) => h.change.at),
      changed.map((c) => c.after.cancelRequestKey ?? null),
      changed.map((c) => c.after.riskReview ?? null),
      changed.map((c) => c.after.riskReleasedAt ?? null),
      changed.map((c) => latest(c.after.history.at(-1)!.at, c.after.riskReleasedAt)),
      changed.map((c) => c.after.currency),
    ],
  );
}

function latest(a: Date, b: Date | undefined): Date {
  return b !== undefined && b > a ? b : a;
}

/**
 * Inserts a batch of new orders with one statement per table. Orders whose customer already used
 * the idempotency key are skipped (including a second use inside the same batch); returns the ids
 * that were inserted.
 */
export async function insertOrders(tx: Sql, records: readonly NewOrder[]): Promise<Set<string>> {
  const { rows } = await tx.query<{ id: string }>(
    `INSERT INTO orders (id, customer_id, idempotency_key, request_fingerprint, status, payment_method,
                         total_cents, placed_at, updated_at, currency)
     SELECT id, customer_id, idempotency_key, fingerprint, 'PENDING', payment_method, 0, placed_at, placed_at,
            currency
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::text[])
         AS t(id, customer_id, idempotency_key, fingerprint, payment_method, placed_at, currency)
     ON CONFLICT (customer_id, idempotency_key) DO NOTHING
     RETURNING id`,
    [
      records.map((r) => r.order.id),
      records.map((r) => r.order.customerId),
      records.map((r) => r.idempotencyKey),
      records.map((r) => r.fingerprint),
      records.map((r) => r.order.paymentMethod),
      records.map((r) => r.order.placedAt),
      records.map((r) => r.order.currency),
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

/** Sagas not yet decided and the age of the oldest (both served by the partial index orders_open_page). */
export async function openOrdersBacklog(db: Sql): Promise<{ open: number; oldestAgeMs: number }> {
  const { rows } = await db.query<{ open: number; oldest_age_ms: number | null }>(
    `SELECT count(*)::int AS open,
            (extract(epoch FROM clock_timestamp() - min(coalesce(risk_released_at, placed_at))) * 1000)::float8 AS oldest_age_ms
       FROM orders WHERE status IN ('PENDING', 'STOCK_RESERVED') AND risk_review IS DISTINCT FROM 'HELD'`,
  );
  return { open: rows[0]?.open ?? 0, oldestAgeMs: rows[0]?.oldest_age_ms ?? 0 };
}
