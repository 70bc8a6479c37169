import type { Database, Logger } from '@orderly/platform';
import { assertTransition } from '../domain/reservation.js';
import { releaseMovement } from '../domain/product.js';
import { applyStockMovements } from '../data-access/product-repository.js';
import {
  lockExpiredReservations,
  reservedQuantities,
  settleReservations,
} from '../data-access/reservation-repository.js';

export const reservationExpiryTask = 'inventory.expire-reservations';

export interface ReservationExpiryDeps {
  readonly db: Database;
  readonly log: Logger;
  readonly clock: () => Date;
  readonly batchSize: number;
}

/**
 * RESERVED past expires_at → EXPIRED, the held stock back to available. One transaction per
 * batch; keeps going while batches come back full. Returns how many reservations expired.
 */
export async function expireReservations(deps: ReservationExpiryDeps): Promise<number> {
  let total = 0;
  for (;;) {
    const expired = await deps.db.transaction(async (tx) => {
      const now = deps.clock();
      const reservations = await lockExpiredReservations(tx, now, deps.batchSize);
      if (reservations.length === 0) return 0;
      for (const r of reservations) assertTransition(r.id, r.status, 'EXPIRED');
      const ids = reservations.map((r) => r.id);
      const quantities = await reservedQuantities(tx, ids);
      await applyStockMovements(
        tx,
        quantities.map((q) => releaseMovement(q.sku, q.quantity)),
        now,
      );
      await settleReservations(tx, ids, 'EXPIRED', now);
      for (const r of reservations)
        deps.log.info(
          { orderId: r.orderId, reservationId: r.id },
          'reservation expired, stock released',
        );
      return reservations.length;
    });
    total += expired;
    if (expired < deps.batchSize) return total;
  }
}
