import { expect } from 'vitest';
import { eventually } from '@orderly/platform/testing';

/**
 * The promises Orderly makes, checked by SQL in each service's own database after a run:
 * every accepted order is terminal; stock never negative and conserved; one capture per confirmed
 * order and none kept for cancelled ones; one notification per terminal order; outboxes drained.
 */
export type SqlRunner = <Row = Record<string, unknown>>(
  service: 'order' | 'inventory' | 'payment' | 'notification',
  text: string,
  values?: unknown[],
) => Promise<Row[]>;

interface OrderRow {
  id: string;
  status: string;
  cancellation_reason: string | null;
}

export async function waitForAllTerminal(sql: SqlRunner, acceptedIds: readonly string[], timeoutMs: number): Promise<OrderRow[]> {
  return eventually(
    async () => {
      const rows = await sql<OrderRow>('order', 'SELECT id, status, cancellation_reason FROM orders');
      const byId = new Map(rows.map((r) => [r.id, r]));
      const missing = acceptedIds.filter((id) => !byId.has(id));
      expect(missing, 'accepted orders missing from the order database').toEqual([]);
      const open = rows.filter((r) => r.status !== 'CONFIRMED' && r.status !== 'CANCELLED');
      expect(open.map((r) => `${r.id}:${r.status}`), 'orders not yet terminal').toEqual([]);
      return rows;
    },
    { timeoutMs, intervalMs: 250 },
  );
}

export async function checkInvariants(
  sql: SqlRunner,
  acceptedIds: readonly string[],
  stockAtStart: Readonly<Record<string, number>>,
  timeoutMs = 90_000,
): Promise<{ confirmed: number; cancelled: Record<string, number> }> {
  const orders = await waitForAllTerminal(sql, acceptedIds, timeoutMs);
  const confirmedIds = orders.filter((o) => o.status === 'CONFIRMED').map((o) => o.id);
  const cancelledIds = orders.filter((o) => o.status === 'CANCELLED').map((o) => o.id);

  // Outboxes drain a little after the last transition (CustomerNotified, PaymentRefunded...).
  await eventually(
    async () => {
      for (const service of ['order', 'inventory', 'payment', 'notification'] as const) {
        const [row] = await sql<{ pending: string }>(service, 'SELECT count(*) AS pending FROM outbox WHERE published_at IS NULL');
        expect(Number(row?.pending), `${service} outbox drained`).toBe(0);
      }
    },
    { timeoutMs, intervalMs: 250 },
  );

  // Stock and money settle after an order's last transition (and after a redelivery when a
  // consumer crashed), so these converge rather than hold at the first look.
  await eventually(() => checkStock(sql, stockAtStart), { timeoutMs, intervalMs: 250 });
  await eventually(() => checkMoney(sql, confirmedIds, cancelledIds), { timeoutMs, intervalMs: 250 });

  // One customer message per terminal order.
  await eventually(
    async () => {
      const notified = await sql<{ order_id: string }>('notification', 'SELECT order_id FROM notifications');
      const notifiedIds = new Set(notified.map((n) => n.order_id));
      expect(notified.length).toBe(notifiedIds.size);
      expect(orders.filter((o) => !notifiedIds.has(o.id)).map((o) => o.id), 'terminal orders without a notification').toEqual([]);
      expect(notifiedIds.size).toBe(orders.length);
    },
    { timeoutMs, intervalMs: 250 },
  );

  const cancelled: Record<string, number> = {};
  for (const o of orders) if (o.cancellation_reason) cancelled[o.cancellation_reason] = (cancelled[o.cancellation_reason] ?? 0) + 1;
  return { confirmed: confirmedIds.length, cancelled };
}


/** Never negative, nothing left reserved, and available + reserved + sold conserved. */
async function checkStock(sql: SqlRunner, stockAtStart: Readonly<Record<string, number>>): Promise<void> {
  const products = await sql<{ sku: string; available: number; reserved: number; sold: number }>(
    'inventory',
    'SELECT sku, available, reserved, sold FROM products WHERE sku = ANY($1)',
    [Object.keys(stockAtStart)],
  );
  const soldByOrders = await sql<{ sku: string; quantity: string }>(
    'order',
    `SELECT l.sku, sum(l.quantity)::text AS quantity FROM order_lines l JOIN orders o ON o.id = l.order_id
      WHERE o.status = 'CONFIRMED' GROUP BY l.sku`,
  );
  const soldBySku = new Map(soldByOrders.map((r) => [r.sku, Number(r.quantity)]));
  for (const product of products) {
    expect(product.available, `${product.sku} available`).toBeGreaterThanOrEqual(0);
    expect(product.reserved, `${product.sku} still reserved`).toBe(0);
    expect(product.available + product.reserved + product.sold, `${product.sku} conserved`).toBe(stockAtStart[product.sku]);
    expect(product.sold, `${product.sku} sold = confirmed order lines`).toBe(soldBySku.get(product.sku) ?? 0);
  }
  const [openReservations] = await sql<{ open: string }>('inventory', "SELECT count(*) AS open FROM reservations WHERE status = 'RESERVED'");
  expect(Number(openReservations?.open)).toBe(0);

}

async function checkMoney(sql: SqlRunner, confirmedIds: readonly string[], cancelledIds: readonly string[]): Promise<void> {
  // Money: exactly one capture per confirmed order, nothing kept for a cancelled one.
  const ledger = await sql<{ order_id: string; captures: string; refunds: string }>(
    'payment',
    `SELECT order_id, count(*) FILTER (WHERE kind = 'capture')::text AS captures,
            count(*) FILTER (WHERE kind = 'refund')::text AS refunds
       FROM provider_ledger GROUP BY order_id`,
  );
  const ledgerByOrder = new Map(ledger.map((l) => [l.order_id, { captures: Number(l.captures), refunds: Number(l.refunds) }]));
  for (const id of confirmedIds) {
    expect(ledgerByOrder.get(id), `confirmed order ${id} captured once, never refunded`).toEqual({ captures: 1, refunds: 0 });
  }
  for (const id of cancelledIds) {
    const entry = ledgerByOrder.get(id) ?? { captures: 0, refunds: 0 };
    expect(entry.captures - entry.refunds, `cancelled order ${id} keeps no money`).toBe(0);
    expect(entry.captures, `cancelled order ${id} captured at most once`).toBeLessThanOrEqual(1);
  }

}
