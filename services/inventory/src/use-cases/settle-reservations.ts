import { randomUUID } from 'node:crypto';
import { expiredReservationShort } from '../domain/inventory-errors.js';
import type {
  InventoryStore,
  NewReservation,
  ReservationTransition,
} from '../domain/inventory-store.js';
import {
  confirmMovement,
  releaseMovement,
  retakeMovement,
  returnMovement,
  type StockMovement,
} from '../domain/product.js';
import {
  decideSettlements,
  type SettlementRequest,
  type SettlementStep,
} from '../domain/reservation.js';

export type SettleReservationsStore = Pick<
  InventoryStore,
  'lockReservationsOfOrders' | 'lockProducts' | 'writeReservations' | 'applyStockMovements'
>;

/** What became of one settlement of the run (every action of decideSettlements but a failure). */
export type SettlementOutcome = Exclude<SettlementStep, { readonly action: 'expired-short' }>;

const movementOf = {
  confirm: confirmMovement,
  release: releaseMovement,
  return: returnMovement,
  'confirm-expired': retakeMovement,
} as const;

/**
 * Settles the reservations of a run of orders that reached their end (confirmed: the held units
 * are sold; cancelled: they are available again, or a tombstone is recorded when nothing was
 * reserved yet; cancelled by the customer after confirmation: the sold units are returned). Keyed by order id: the orders' reservation rows are locked first, so a
 * confirmation and a cancellation never settle one reservation twice, then the stock rows; each
 * settlement is decided in memory in the given order and the results are written with one
 * statement per table. A RESERVED reservation is confirmed whatever its age: the saga, not a clock
 * here, decides when held stock goes back. Returns one outcome per request, in request order.
 *
 * Throws INVENTORY_EXPIRED_RESERVATION_SHORT, before writing anything, when a legacy EXPIRED
 * reservation is confirmed but its units were sold since: an operator restocks and redrives.
 */
export async function settleReservations(
  store: SettleReservationsStore,
  requests: readonly SettlementRequest[],
  now: Date,
): Promise<SettlementOutcome[]> {
  const reservations = await store.lockReservationsOfOrders(
    requests.map((r) => r.orderId),
    { withLines: true },
  );
  const products = await store.lockProducts(
    [...reservations.values()]
      .filter((r) => r.status === 'RESERVED' || r.status === 'EXPIRED' || r.status === 'CONFIRMED')
      .flatMap((r) => r.lines.map((line) => line.sku)),
  );
  const available = new Map([...products].map(([sku, product]) => [sku, product.available]));
  const steps = decideSettlements(requests, reservations, available, randomUUID);

  const tombstones: NewReservation[] = [];
  const transitions: ReservationTransition[] = [];
  const movements: StockMovement[] = [];
  const outcomes = steps.map((step, index): SettlementOutcome => {
    const { orderId } = requests[index]!;
    switch (step.action) {
      case 'confirm':
      case 'release':
      case 'return':
      case 'confirm-expired': {
        const { reservationId, from, to, lines } = step;
        transitions.push({ id: reservationId, orderId, from, to });
        for (const line of lines) movements.push(movementOf[step.action](line.sku, line.quantity));
        return step;
      }
      case 'expired-short':
        // Legacy data: an earlier version's expiry sweep released this stock and it was sold
        // since. The run fails (a batch is then retried one event at a time, so this event fails
        // alone) and an operator restocks and redrives it.
        throw expiredReservationShort(orderId, step.skus);
      case 'record-tombstone':
        tombstones.push({
          id: step.reservationId,
          orderId,
          status: 'CANCELLED',
          createdAt: now,
          settledAt: now,
        });
        return step;
      case 'unexpected':
      case 'ignore':
        return step;
    }
  });

  await store.writeReservations({ inserts: tombstones, transitions }, now);
  await store.applyStockMovements(movements, now);
  return outcomes;
}
