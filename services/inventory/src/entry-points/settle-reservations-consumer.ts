import { randomUUID } from 'node:crypto';
import {
  onBatchOf,
  type BatchItem,
  type EventHandler,
  type Logger,
  type Sql,
} from '@orderly/platform';
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  type OrderCancelled,
  type OrderConfirmed,
} from '@orderly/order-contract/order_events';
import { expiredReservationShort, unusableEvent } from '../domain/inventory-errors.js';
import {
  confirmMovement,
  releaseMovement,
  retakeMovement,
  type StockMovement,
} from '../domain/product.js';
import { decideSettlements } from '../domain/reservation.js';
import { applyStockMovements, lockProducts } from '../data-access/product-repository.js';
import {
  lockReservationsOfOrders,
  writeReservations,
  type NewReservation,
  type ReservationTransition,
} from '../data-access/reservation-repository.js';

export const settleReservationsSubscription = 'inventory.settle-reservations';

export interface SettleReservationsDeps {
  readonly log: Logger;
  readonly clock: () => Date;
}

const movementOf = {
  confirm: confirmMovement,
  release: releaseMovement,
  'confirm-expired': retakeMovement,
} as const;

/**
 * OrderConfirmed / OrderCancelled → the order's reservation is settled. Keyed by order id (the
 * reservation id in the event is informative): the orders' reservation rows are locked first, so
 * a confirmation and a cancellation never settle one reservation twice. Both types share one
 * set-based handler, so a batch of them is one run, applied like reserve-stock's: reservations and
 * then stock rows locked (reservation-repository.ts, "lock order"), each event decided in memory in
 * delivery order, one statement per table. A RESERVED reservation is confirmed whatever its age:
 * the saga, not a clock here, decides when held stock goes back.
 */
export function settleReservationsHandlers(deps: SettleReservationsDeps): EventHandler[] {
  return onBatchOf([OrderConfirmedSchema, OrderCancelledSchema] as const, (tx, items) =>
    settle(tx, deps, items),
  );
}

async function settle(
  tx: Sql,
  deps: SettleReservationsDeps,
  items: readonly BatchItem<OrderConfirmed | OrderCancelled>[],
): Promise<void> {
  for (const { event } of items)
    if (event.orderId === '') throw unusableEvent(event.$typeName, 'order_id is empty');
  const now = deps.clock();
  const requests = items.map(({ event }) => ({
    orderId: event.orderId,
    outcome:
      event.$typeName === OrderConfirmedSchema.typeName
        ? ('confirmed' as const)
        : ('cancelled' as const),
  }));

  const reservations = await lockReservationsOfOrders(
    tx,
    requests.map((r) => r.orderId),
    { withLines: true },
  );
  const products = await lockProducts(
    tx,
    [...reservations.values()]
      .filter((r) => r.status === 'RESERVED' || r.status === 'EXPIRED')
      .flatMap((r) => r.lines.map((line) => line.sku)),
  );
  const available = new Map([...products].map(([sku, product]) => [sku, product.available]));
  const steps = decideSettlements(requests, reservations, available, randomUUID);

  const tombstones: NewReservation[] = [];
  const transitions: ReservationTransition[] = [];
  const movements: StockMovement[] = [];
  // Logged once the run's writes succeeded, each in its event's trace.
  const logs: { item: BatchItem<unknown>; write: () => void }[] = [];
  for (const [index, step] of steps.entries()) {
    const item = items[index]!;
    const { orderId } = item.event;
    const { outcome } = requests[index]!;
    switch (step.action) {
      case 'confirm':
      case 'release':
      case 'confirm-expired': {
        const { reservationId, from, to, lines } = step;
        transitions.push({ id: reservationId, orderId, from, to });
        for (const line of lines) movements.push(movementOf[step.action](line.sku, line.quantity));
        logs.push({
          item,
          write: () =>
            step.action === 'confirm-expired'
              ? deps.log.warn(
                  { orderId, reservationId },
                  'order confirmed after its reservation expired, units taken again',
                )
              : deps.log.info(
                  { orderId, reservationId },
                  step.action === 'confirm'
                    ? 'reservation confirmed'
                    : 'reservation cancelled, stock released',
                ),
        });
        break;
      }
      case 'expired-short':
        // Legacy data: an earlier version's expiry sweep released this stock and it was sold
        // since. The event fails (alone, once the batch is retried one event at a time) so an
        // operator restocks and redrives it.
        throw expiredReservationShort(orderId, step.skus);
      case 'record-tombstone':
        tombstones.push({
          id: step.reservationId,
          orderId,
          status: 'CANCELLED',
          createdAt: now,
          settledAt: now,
        });
        logs.push({
          item,
          write: () =>
            deps.log.info(
              { orderId },
              'order cancelled before any reservation, tombstone recorded',
            ),
        });
        break;
      case 'unexpected':
        logs.push({
          item,
          write: () =>
            deps.log.warn(
              { orderId, outcome, status: step.status },
              'settlement does not match the reservation, left unchanged',
            ),
        });
        break;
      case 'ignore':
        logs.push({
          item,
          write: () =>
            deps.log.debug(
              { orderId, outcome, status: step.status },
              'reservation already settled',
            ),
        });
        break;
    }
  }

  await writeReservations(tx, { inserts: tombstones, transitions }, now);
  await applyStockMovements(tx, movements, now);
  for (const { item, write } of logs) item.inTrace(write);
}
