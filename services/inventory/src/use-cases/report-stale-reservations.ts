import type { Logger } from '@orderly/platform';
import type { InventoryStore } from '../domain/inventory-store.js';
import { reservationExpiresAt } from '../domain/reservation.js';

export type ReportStaleReservationsStore = Pick<
  InventoryStore,
  'markStaleReservationsReported' | 'countReservationsHeldSince'
>;

/**
 * Runs `work` in a transaction of its own, with the store bound to it. The report takes one
 * transaction per batch, so a long backlog never holds its locks for long.
 */
export type InStaleReservationsTransaction = <T>(
  work: (store: ReportStaleReservationsStore) => Promise<T>,
) => Promise<T>;

/** Where the report's figures go (the task's gauge and counter). */
export interface StaleReservationFigures {
  /** Reservations reported with a warning by this run. */
  reported(count: number): void;
  /** Reservations held longer than the TTL now, reported earlier or not. */
  setStale(count: number): void;
}

/**
 * Reports reservations held longer than `reservationTtlMs`, and never releases their stock: the
 * order's saga owns the reservation (OrderConfirmed sells it; OrderCancelled, also sent by the
 * saga's own timeout, releases it). A stale one means a stuck saga or a dead-lettered settlement:
 * each is logged as a warning once per TTL, `batchSize` per transaction, and the gauge counts them
 * all. Returns how many were logged.
 */
export async function reportStaleReservations(
  inTransaction: InStaleReservationsTransaction,
  log: Logger,
  figures: StaleReservationFigures,
  now: Date,
  reservationTtlMs: number,
  batchSize: number,
): Promise<number> {
  let total = 0;
  for (;;) {
    const reported = await inTransaction((store) =>
      store.markStaleReservationsReported(
        now,
        reservationExpiresAt(now, reservationTtlMs),
        batchSize,
      ),
    );
    for (const r of reported)
      log.warn(
        {
          orderId: r.orderId,
          reservationId: r.id,
          heldMs: now.getTime() - r.createdAt.getTime(),
          reservationTtlMs,
        },
        'reservation held longer than its TTL, order saga looks stuck',
      );
    total += reported.length;
    if (reported.length < batchSize) break;
  }
  if (total > 0) figures.reported(total);
  const cutoff = new Date(now.getTime() - reservationTtlMs);
  figures.setStale(await inTransaction((store) => store.countReservationsHeldSince(cutoff)));
  return total;
}
