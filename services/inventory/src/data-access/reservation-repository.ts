import type { Sql } from '@orderly/platform';
import { invalidReservationTransition, reservationRace } from '../domain/inventory-errors.js';
import type {
  LockedReservation,
  ReservationChanges,
  StaleReservation,
  StoredReservation,
} from '../domain/inventory-store.js';
import { isReservationStatus } from '../domain/reservation.js';

/** SQL for reservations and their lines. */

interface ReservationRow {
  id: string;
  order_id: string;
  status: string;
  expires_at: Date | null;
}

function toReservation(row: ReservationRow): StoredReservation {
  if (!isReservationStatus(row.status))
    throw new Error(`reservation ${row.id} has an unknown status ${row.status}`);
  return {
    id: row.id,
    orderId: row.order_id,
    status: row.status,
    expiresAt: row.expires_at ?? undefined,
  };
}

/** Advisory lock space of order ids (the first key of `pg_advisory_xact_lock(int, int)`). */
const orderLockSpace = 0x494e5631;

/**
 * Lock order: why inventory's transactions cannot deadlock. Each consumer transaction is one run
 * (a batch, or one event alone; settle's two event types share one handler) and locks in one
 * global order, each step with one statement:
 *
 *   1. advisory locks on its order ids, by key, then those orders' reservation rows (here);
 *   2. the product rows it needs, by SKU (`lockProducts`).
 *
 * It writes only what that covers: the rows it locked, and new reservations of orders it holds in
 * (1), so an insert never waits for another transaction's insert of the same order id. A
 * reservation row lock can then only wait for the stale-reservation report, which never waits
 * itself; every other wait is for a lock above all those the transaction holds, and waits that only
 * go up cannot close a cycle. (A second run in one transaction would lock below the first: keep one
 * set-based handler per subscription.)
 *
 * Returns the reservations of these orders that exist, locked for the rest of the transaction,
 * with their lines when `withLines`. (One created by the transaction this one waited for is not
 * seen — the statement's snapshot is older — so inserting it again fails the run with
 * INVENTORY_RESERVATION_RACE and the retry decides under it.)
 */
export async function lockReservationsOfOrders(
  sql: Sql,
  orderIds: readonly string[],
  options: { readonly withLines?: boolean } = {},
): Promise<Map<string, LockedReservation>> {
  const ids = [...new Set(orderIds)].sort();
  const reservations = new Map<string, LockedReservation>();
  if (ids.length === 0) return reservations;
  // An init plan: every advisory lock is taken, in key order, before any row is read.
  const lockOrders = `(SELECT count(pg_advisory_xact_lock($2, k))
        FROM (SELECT DISTINCT hashtext(o) AS k FROM unnest($1::text[]) AS o ORDER BY k) AS keys) >= 0`;
  const { rows } = await sql.query<
    ReservationRow & { sku: string | null; quantity: number | null }
  >(
    options.withLines
      ? `SELECT r.id, r.order_id, r.status, r.expires_at, l.sku, l.quantity
           FROM reservations r LEFT JOIN reservation_lines l ON l.reservation_id = r.id
          WHERE r.order_id = ANY($1::text[]) AND ${lockOrders}
          ORDER BY r.order_id, l.sku FOR UPDATE OF r`
      : `SELECT r.id, r.order_id, r.status, r.expires_at, NULL AS sku, NULL::int AS quantity
           FROM reservations r
          WHERE r.order_id = ANY($1::text[]) AND ${lockOrders}
          ORDER BY r.order_id FOR UPDATE OF r`,
    [ids, orderLockSpace],
  );
  for (const row of rows) {
    const reservation = reservations.get(row.order_id) ?? { ...toReservation(row), lines: [] };
    reservations.set(
      row.order_id,
      row.sku === null || row.quantity === null
        ? reservation
        : {
            ...reservation,
            lines: [...reservation.lines, { sku: row.sku, quantity: row.quantity }],
          },
    );
  }
  return reservations;
}

/**
 * Writes a run's reservations in one statement: the new ones with their lines (multi-row inserts
 * from arrays) and the status changes of locked ones (settled at `now`). Throws when one was not
 * written: a reservation for that order appeared meanwhile (the retry decides again under it).
 */
export async function writeReservations(
  sql: Sql,
  changes: ReservationChanges,
  now: Date,
): Promise<void> {
  const inserts = [...changes.inserts].sort((a, b) => compare(a.orderId, b.orderId));
  const transitions = [...changes.transitions].sort((a, b) => compare(a.orderId, b.orderId));
  if (inserts.length === 0 && transitions.length === 0) return;
  const lines = inserts.flatMap((r) => (r.lines ?? []).map((line) => ({ id: r.id, ...line })));
  const { rows } = await sql.query<{ inserted: string[]; settled: string[] }>(
    `WITH inserted AS (
       INSERT INTO reservations (id, order_id, status, created_at, expires_at, settled_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::timestamptz[], $6::timestamptz[])
       ON CONFLICT (order_id) DO NOTHING
       RETURNING id),
     lines AS (
       INSERT INTO reservation_lines (reservation_id, sku, quantity, unit_price_cents)
       SELECT l.reservation_id, l.sku, l.quantity, l.unit_price_cents
         FROM unnest($7::uuid[], $8::text[], $9::int[], $10::bigint[]) AS l (reservation_id, sku, quantity, unit_price_cents)
         JOIN inserted ON inserted.id = l.reservation_id),
     settled AS (
       UPDATE reservations r SET status = t.status, settled_at = $14
         FROM unnest($11::uuid[], $12::text[], $13::text[]) AS t (id, status, from_status)
        WHERE r.id = t.id AND r.status = t.from_status
       RETURNING r.id)
     SELECT ARRAY(SELECT id::text FROM inserted) AS inserted, ARRAY(SELECT id::text FROM settled) AS settled`,
    [
      inserts.map((r) => r.id),
      inserts.map((r) => r.orderId),
      inserts.map((r) => r.status),
      inserts.map((r) => r.createdAt),
      inserts.map((r) => r.expiresAt ?? null),
      inserts.map((r) => r.settledAt ?? null),
      lines.map((l) => l.id),
      lines.map((l) => l.sku),
      lines.map((l) => l.quantity),
      lines.map((l) => l.unitPriceCents.toString()),
      transitions.map((t) => t.id),
      transitions.map((t) => t.to),
      transitions.map((t) => t.from),
      now,
    ],
  );
  const inserted = new Set(rows[0]?.inserted ?? []);
  const notInserted = inserts.find((r) => !inserted.has(r.id));
  if (notInserted) throw reservationRace(notInserted.orderId);
  const settled = new Set(rows[0]?.settled ?? []);
  // Impossible while the rows are locked; checked so counters never move without their reservation.
  const notSettled = transitions.find((t) => !settled.has(t.id));
  if (notSettled) throw invalidReservationTransition(notSettled.id, notSettled.from, notSettled.to);
}

/**
 * Stale reservations: RESERVED past `expires_at` (their TTL, or their last report). Up to `limit`
 * of them, oldest first, get `expires_at = nextReportAt` (so each is reported once per TTL, not at
 * every sweep) and are returned. SKIP LOCKED: a reservation being settled right now is not waited for.
 */
export async function markStaleReservationsReported(
  sql: Sql,
  now: Date,
  nextReportAt: Date,
  limit: number,
): Promise<StaleReservation[]> {
  const { rows } = await sql.query<ReservationRow & { created_at: Date }>(
    `UPDATE reservations r SET expires_at = $3
       FROM (SELECT id FROM reservations
              WHERE status = 'RESERVED' AND expires_at <= $1
              ORDER BY expires_at LIMIT $2 FOR UPDATE SKIP LOCKED) stale
      WHERE r.id = stale.id
      RETURNING r.id, r.order_id, r.status, r.expires_at, r.created_at`,
    [now, limit, nextReportAt],
  );
  return rows.map((row) => ({ ...toReservation(row), createdAt: row.created_at }));
}

/** How many reservations are still RESERVED although made at or before `cutoff`. */
export async function countReservationsHeldSince(sql: Sql, cutoff: Date): Promise<number> {
  const { rows } = await sql.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM reservations WHERE status = 'RESERVED' AND created_at <= $1`,
    [cutoff],
  );
  return rows[0]?.n ?? 0;
}

const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
