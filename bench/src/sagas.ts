import pg from 'pg';
import { Histogram } from './histogram.js';

/**
 * End-to-end figures from the services' own timestamps: an order's placed_at and its CONFIRMED
 * history row (order database), and the notification's created_at (notification database).
 * A saga is complete when the order is CONFIRMED and the customer was notified; it completes at
 * the later of the two.
 */
export interface SagaDatabases {
  readonly orderUrl: string;
  readonly notificationUrl: string;
}

async function query<Row>(url: string, text: string, values: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Row[];
  } finally {
    await client.end();
  }
}

export interface SagaWindowStats {
  readonly placed: number;
  readonly confirmed: number;
  readonly completed: number;
  readonly cancelled: Record<string, number>;
  readonly open: number;
  /** placement → CONFIRMED, µs */
  readonly toConfirmed: Histogram;
  /**
   * placement → terminal, µs, every order placed in the window: CONFIRMED and CANCELLED at the
   * time of that history row, an order still open at its age when counted (`untilMs`).
   */
  readonly toTerminal: Histogram;
  /** placement → notified (complete saga), µs */
  readonly toNotified: Histogram;
  /** completions per second from `fromMs` (index 0) on */
  readonly completionsPerSecond: number[];
}

/** Sagas of the orders placed in [fromMs, toMs); completions counted up to `untilMs`. */
export async function sagaStats(
  db: SagaDatabases,
  fromMs: number,
  toMs: number,
  untilMs: number,
): Promise<SagaWindowStats> {
  const from = new Date(fromMs);
  const to = new Date(toMs);
  const orders = await query<{
    id: string;
    status: string;
    reason: string | null;
    placed: string;
    confirmed: string | null;
    cancelled: string | null;
  }>(
    db.orderUrl,
    `SELECT o.id, o.status, o.cancellation_reason AS reason,
            (extract(epoch FROM o.placed_at) * 1000)::float8::text AS placed,
            (SELECT (extract(epoch FROM h.at) * 1000)::float8::text FROM order_status_history h
              WHERE h.order_id = o.id AND h.status = 'CONFIRMED' LIMIT 1) AS confirmed,
            (SELECT (extract(epoch FROM h.at) * 1000)::float8::text FROM order_status_history h
              WHERE h.order_id = o.id AND h.status = 'CANCELLED' LIMIT 1) AS cancelled
       FROM orders o WHERE o.placed_at >= $1 AND o.placed_at < $2`,
    [from, to],
  );
  const notified = await query<{ order_id: string; at: string }>(
    db.notificationUrl,
    `SELECT order_id, (extract(epoch FROM created_at) * 1000)::float8::text AS at FROM notifications
      WHERE created_at >= $1`,
    [from],
  );
  const notifiedAt = new Map(notified.map((n) => [n.order_id, Number(n.at)]));
  const toConfirmed = new Histogram();
  const toTerminal = new Histogram();
  const toNotified = new Histogram();
  const cancelled: Record<string, number> = {};
  const seconds = Math.max(1, Math.ceil((untilMs - fromMs) / 1000));
  const completionsPerSecond = new Array<number>(seconds).fill(0);
  let confirmed = 0;
  let completed = 0;
  let open = 0;
  for (const o of orders) {
    const terminalAt =
      o.status === 'CONFIRMED' && o.confirmed !== null
        ? Number(o.confirmed)
        : o.status === 'CANCELLED' && o.cancelled !== null
          ? Number(o.cancelled)
          : untilMs;
    toTerminal.record(Math.max(0, terminalAt - Number(o.placed)) * 1000);
    if (o.status === 'CANCELLED')
      cancelled[o.reason ?? 'UNKNOWN'] = (cancelled[o.reason ?? 'UNKNOWN'] ?? 0) + 1;
    else if (o.status !== 'CONFIRMED') open++;
    if (o.status !== 'CONFIRMED' || o.confirmed === null) continue;
    confirmed++;
    const placed = Number(o.placed);
    const confirmedAt = Number(o.confirmed);
    toConfirmed.record((confirmedAt - placed) * 1000);
    const n = notifiedAt.get(o.id);
    if (n === undefined) continue;
    const doneAt = Math.max(confirmedAt, n);
    toNotified.record((doneAt - placed) * 1000);
    if (doneAt <= untilMs) {
      completed++;
      const second = Math.floor((doneAt - fromMs) / 1000);
      if (second >= 0 && second < seconds)
        completionsPerSecond[second] = (completionsPerSecond[second] ?? 0) + 1;
    }
  }
  return {
    placed: orders.length,
    confirmed,
    completed,
    cancelled,
    open,
    toConfirmed,
    toTerminal,
    toNotified,
    completionsPerSecond,
  };
}

/** Completed sagas (any placement time) whose completion fell in [fromMs, toMs). */
export async function completionsBetween(
  db: SagaDatabases,
  fromMs: number,
  toMs: number,
): Promise<number> {
  const confirmed = await query<{ id: string; at: string }>(
    db.orderUrl,
    `SELECT order_id AS id, (extract(epoch FROM at) * 1000)::float8::text AS at FROM order_status_history
      WHERE status = 'CONFIRMED' AND at >= $1`,
    [new Date(fromMs - 600_000)],
  );
  const notified = await query<{ order_id: string; at: string }>(
    db.notificationUrl,
    `SELECT order_id, (extract(epoch FROM created_at) * 1000)::float8::text AS at FROM notifications WHERE created_at >= $1`,
    [new Date(fromMs - 600_000)],
  );
  const notifiedAt = new Map(notified.map((n) => [n.order_id, Number(n.at)]));
  let count = 0;
  for (const c of confirmed) {
    const n = notifiedAt.get(c.id);
    if (n === undefined) continue;
    const doneAt = Math.max(Number(c.at), n);
    if (doneAt >= fromMs && doneAt < toMs) count++;
  }
  return count;
}

/** Open sagas right now (PENDING or STOCK_RESERVED) and terminal orders not yet notified. */
export async function backlog(db: SagaDatabases): Promise<{ open: number; unnotified: number }> {
  const [orders] = await query<{ open: string; terminal: string }>(
    db.orderUrl,
    `SELECT count(*) FILTER (WHERE status IN ('PENDING', 'STOCK_RESERVED'))::text AS open,
            count(*) FILTER (WHERE status IN ('CONFIRMED', 'CANCELLED'))::text AS terminal FROM orders`,
  );
  const [notes] = await query<{ n: string }>(
    db.notificationUrl,
    'SELECT count(*)::text AS n FROM notifications',
  );
  return {
    open: Number(orders?.open ?? 0),
    unnotified: Number(orders?.terminal ?? 0) - Number(notes?.n ?? 0),
  };
}

/** Waits until no saga is open and every terminal order was notified, or `maxMs` passed. */
export async function waitForDrain(
  db: SagaDatabases,
  maxMs: number,
  pollMs: number,
): Promise<{ drained: boolean; ms: number; left: { open: number; unnotified: number } }> {
  const started = Date.now();
  for (;;) {
    const left = await backlog(db);
    if (left.open === 0 && left.unnotified <= 0)
      return { drained: true, ms: Date.now() - started, left };
    if (Date.now() - started > maxMs) return { drained: false, ms: Date.now() - started, left };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
