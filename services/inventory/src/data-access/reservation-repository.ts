import type { Sql } from '@orderly/platform';
import {
  isReservationStatus,
  type PricedLine,
  type ReservationStatus,
} from '../domain/reservation.js';

/** SQL for reservations and their lines. */

export interface StoredReservation {
  readonly id: string;
  readonly orderId: string;
  readonly status: ReservationStatus;
  readonly expiresAt: Date | undefined;
}

export interface ReservedQuantity {
  readonly reservationId: string;
  readonly sku: string;
  readonly quantity: number;
}

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

/** The order's reservation, locked for the rest of the transaction. */
export async function lockReservationOfOrder(
  sql: Sql,
  orderId: string,
): Promise<StoredReservation | undefined> {
  const { rows } = await sql.query<ReservationRow>(
    'SELECT id, order_id, status, expires_at FROM reservations WHERE order_id = $1 FOR UPDATE',
    [orderId],
  );
  return rows[0] ? toReservation(rows[0]) : undefined;
}

/**
 * Inserts the order's reservation with its lines, in one statement (one round trip); returns its
 * id, or undefined when the order already has one (inserted concurrently: the caller decides again
 * under the other row), in which case no line is written either.
 */
export async function insertReservation(
  sql: Sql,
  reservation: {
    orderId: string;
    status: ReservationStatus;
    createdAt: Date;
    expiresAt?: Date | undefined;
    settledAt?: Date | undefined;
  },
  lines: readonly PricedLine[] = [],
): Promise<string | undefined> {
  const { rows } = await sql.query<{ id: string }>(
    `WITH reservation AS (
       INSERT INTO reservations (order_id, status, created_at, expires_at, settled_at)
       VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (order_id) DO NOTHING RETURNING id),
     lines AS (
       INSERT INTO reservation_lines (reservation_id, sku, quantity, unit_price_cents)
       SELECT reservation.id, l.sku, l.quantity, l.unit_price_cents
         FROM reservation, unnest($6::text[], $7::int[], $8::bigint[]) AS l(sku, quantity, unit_price_cents))
     SELECT id FROM reservation`,
    [
      reservation.orderId,
      reservation.status,
      reservation.createdAt,
      reservation.expiresAt ?? null,
      reservation.settledAt ?? null,
      lines.map((l) => l.sku),
      lines.map((l) => l.quantity),
      lines.map((l) => l.unitPriceCents.toString()),
    ],
  );
  return rows[0]?.id;
}

export async function reservedQuantities(
  sql: Sql,
  reservationIds: readonly string[],
): Promise<ReservedQuantity[]> {
  if (reservationIds.length === 0) return [];
  const { rows } = await sql.query<{ reservation_id: string; sku: string; quantity: number }>(
    `SELECT reservation_id, sku, quantity FROM reservation_lines WHERE reservation_id = ANY($1::uuid[]) ORDER BY sku`,
    [reservationIds],
  );
  return rows.map((row) => ({
    reservationId: row.reservation_id,
    sku: row.sku,
    quantity: row.quantity,
  }));
}

/** Settles reservations that are still `from` (RESERVED unless said; the caller checked the transition). */
export async function settleReservations(
  sql: Sql,
  reservationIds: readonly string[],
  status: ReservationStatus,
  now: Date,
  from: ReservationStatus = 'RESERVED',
): Promise<void> {
  if (reservationIds.length === 0) return;
  await sql.query(
    `UPDATE reservations SET status = $2, settled_at = $3 WHERE id = ANY($1::uuid[]) AND status = $4`,
    [reservationIds, status, now, from],
  );
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
): Promise<(StoredReservation & { readonly createdAt: Date })[]> {
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
