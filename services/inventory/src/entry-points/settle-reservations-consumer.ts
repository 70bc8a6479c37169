import { on, type EventHandler, type Logger, type Sql } from '@orderly/platform';
import { OrderCancelledSchema, OrderConfirmedSchema } from '@orderly/order/contract/order_events';
import { reservationRace, unusableEvent } from '../domain/inventory-errors.js';
import { confirmMovement, releaseMovement } from '../domain/product.js';
import { assertTransition, decideSettlement } from '../domain/reservation.js';
import { applyStockMovements } from '../data-access/product-repository.js';
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
 * confirmation, a cancellation and the expiry sweep never settle one reservation twice.
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
    case 'confirmed-after-expiry':
      // The stock went back to available at expiry and may be sold again; nothing is taken now.
      // The reservation TTL is configured far above the saga timeout, so this needs a saga stuck
      // far beyond its own timeout: reported for an operator, not repaired here.
      deps.log.warn(
        { orderId, reservationId: reservation?.id },
        'order confirmed after its reservation expired',
      );
      return;
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
