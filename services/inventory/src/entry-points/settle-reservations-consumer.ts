import { on, type EventHandler, type Logger, type Sql } from '@orderly/platform';
import { OrderCancelledSchema, OrderConfirmedSchema } from '@orderly/order/contract/order_events';
import {
  expiredReservationShort,
  reservationRace,
  unusableEvent,
} from '../domain/inventory-errors.js';
import { confirmMovement, releaseMovement, retakeMovement } from '../domain/product.js';
import { assertTransition, decideSettlement } from '../domain/reservation.js';
import { applyStockMovements, lockProducts } from '../data-access/product-repository.js';
import {
  insertReservation,
  lockReservationOfOrder,
  reservedQuantities,
  settleReservations,
} from '../data-access/reservation-repository.js';

export const settleReservationsSubscription = 'inventory.settle-reservations';

export interface SettleReservationsDeps {
  readonly log: Logger;
  readonly clock: () => Date;
}

/**
 * OrderConfirmed / OrderCancelled → the order's reservation is settled. Keyed by order id (the
 * reservation id in the event is informative): the order's reservation row is locked first, so a
 * confirmation and a cancellation never settle one reservation twice. A RESERVED reservation is
 * confirmed whatever its age: the saga, not a clock here, decides when held stock goes back.
 */
export function settleReservationsHandlers(deps: SettleReservationsDeps): EventHandler[] {
  return [
    on(OrderConfirmedSchema, async (tx, event) => {
      if (event.orderId === '')
        throw unusableEvent(OrderConfirmedSchema.typeName, 'order_id is empty');
      await settle(tx, deps, 'confirmed', event.orderId);
    }),
    on(OrderCancelledSchema, async (tx, event) => {
      if (event.orderId === '')
        throw unusableEvent(OrderCancelledSchema.typeName, 'order_id is empty');
      await settle(tx, deps, 'cancelled', event.orderId);
    }),
  ];
}

async function settle(
  tx: Sql,
  deps: SettleReservationsDeps,
  outcome: 'confirmed' | 'cancelled',
  orderId: string,
): Promise<void> {
  const now = deps.clock();
  const reservation = await lockReservationOfOrder(tx, orderId);
  const action = decideSettlement(outcome, reservation?.status);
  switch (action) {
    case 'confirm':
    case 'release': {
      // decideSettlement only answers these for an existing RESERVED reservation.
      const { id, status } = reservation!;
      const next = action === 'confirm' ? 'CONFIRMED' : 'CANCELLED';
      assertTransition(id, status, next);
      const movement = action === 'confirm' ? confirmMovement : releaseMovement;
      const quantities = await reservedQuantities(tx, [id]);
      await applyStockMovements(
        tx,
        quantities.map((q) => movement(q.sku, q.quantity)),
        now,
      );
      await settleReservations(tx, [id], next, now);
      deps.log.info(
        { orderId, reservationId: id },
        action === 'confirm' ? 'reservation confirmed' : 'reservation cancelled, stock released',
      );
      return;
    }
    case 'record-tombstone': {
      const tombstone = await insertReservation(tx, {
        orderId,
        status: 'CANCELLED',
        createdAt: now,
        settledAt: now,
      });
      // A reservation was inserted meanwhile: the retry settles that one instead.
      if (tombstone === undefined) throw reservationRace(orderId);
      deps.log.info({ orderId }, 'order cancelled before any reservation, tombstone recorded');
      return;
    }
    case 'confirm-expired': {
      // Legacy data: an earlier version's expiry sweep released this stock. Sold again only if
      // it is still there; otherwise the event fails so an operator restocks and redrives it.
      const { id, status } = reservation!;
      assertTransition(id, status, 'CONFIRMED');
      const quantities = await reservedQuantities(tx, [id]);
      const products = await lockProducts(
        tx,
        quantities.map((q) => q.sku),
      );
      const short = quantities
        .filter((q) => (products.get(q.sku)?.available ?? 0) < q.quantity)
        .map((q) => q.sku);
      if (short.length > 0) throw expiredReservationShort(orderId, short);
      await applyStockMovements(
        tx,
        quantities.map((q) => retakeMovement(q.sku, q.quantity)),
        now,
        { alreadyLocked: true },
      );
      await settleReservations(tx, [id], 'CONFIRMED', now, 'EXPIRED');
      deps.log.warn(
        { orderId, reservationId: id },
        'order confirmed after its reservation expired, units taken again',
      );
      return;
    }
    case 'unexpected':
      deps.log.warn(
        { orderId, outcome, status: reservation?.status },
        'settlement does not match the reservation, left unchanged',
      );
      return;
    case 'ignore':
      deps.log.debug(
        { orderId, outcome, status: reservation?.status },
        'reservation already settled',
      );
      return;
  }
}
