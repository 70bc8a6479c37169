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
import {
  OrderCancelledSchema as OrderCancelledV2Schema,
  OrderConfirmedSchema as OrderConfirmedV2Schema,
  type OrderCancelled as OrderCancelledV2,
  type OrderConfirmed as OrderConfirmedV2,
} from '@orderly/order-contract/v2/order_events';
import { unusableEvent } from '../domain/inventory-errors.js';
import type { SettlementRequest } from '../domain/reservation.js';
import { inventoryStore } from '../data-access/inventory-store.js';
import { settleReservations, type SettlementOutcome } from '../use-cases/settle-reservations.js';

export const settleReservationsSubscription = 'inventory.settle-reservations';

export interface SettleReservationsDeps {
  readonly log: Logger;
  readonly clock: () => Date;
}

/**
 * OrderConfirmed / OrderCancelled → the order's reservation is settled (settleReservations).
 * Keyed by order id (the reservation id in the event is informative). Both types share one
 * set-based handler, so a batch of them is one run and one call of the use case, locking like
 * reserve-stock's (reservation-repository.ts, "lock order") with one statement per table.
 */
export function settleReservationsHandlers(deps: SettleReservationsDeps): EventHandler[] {
  // Both versions in one run: an event published in both has one event id (applied once).
  return onBatchOf(
    [
      OrderConfirmedSchema,
      OrderCancelledSchema,
      OrderConfirmedV2Schema,
      OrderCancelledV2Schema,
    ] as const,
    (tx, items) => settle(tx, deps, items),
  );
}

async function settle(
  tx: Sql,
  deps: SettleReservationsDeps,
  items: readonly BatchItem<
    OrderConfirmed | OrderCancelled | OrderConfirmedV2 | OrderCancelledV2
  >[],
): Promise<void> {
  for (const { event } of items)
    if (event.orderId === '') throw unusableEvent(event.$typeName, 'order_id is empty');
  const requests: SettlementRequest[] = items.map(({ event }) => ({
    orderId: event.orderId,
    outcome:
      event.$typeName === OrderConfirmedSchema.typeName ||
      event.$typeName === OrderConfirmedV2Schema.typeName
        ? 'confirmed'
        : 'cancelled',
  }));

  const outcomes = await settleReservations(inventoryStore(tx), requests, deps.clock());

  // Logged once the run's writes succeeded, each in its event's trace.
  for (const [index, outcome] of outcomes.entries())
    items[index]!.inTrace(() => logOutcome(deps.log, requests[index]!, outcome));
}

function logOutcome(log: Logger, request: SettlementRequest, outcome: SettlementOutcome): void {
  const { orderId } = request;
  switch (outcome.action) {
    case 'confirm':
      log.info({ orderId, reservationId: outcome.reservationId }, 'reservation confirmed');
      return;
    case 'release':
      log.info(
        { orderId, reservationId: outcome.reservationId },
        'reservation cancelled, stock released',
      );
      return;
    case 'return':
      log.info(
        { orderId, reservationId: outcome.reservationId },
        'confirmed order cancelled by its customer, sold stock returned',
      );
      return;
    case 'confirm-expired':
      log.warn(
        { orderId, reservationId: outcome.reservationId },
        'order confirmed after its reservation expired, units taken again',
      );
      return;
    case 'record-tombstone':
      log.info({ orderId }, 'order cancelled before any reservation, tombstone recorded');
      return;
    case 'unexpected':
      log.warn(
        { orderId, outcome: request.outcome, status: outcome.status },
        'settlement does not match the reservation, left unchanged',
      );
      return;
    case 'ignore':
      log.debug(
        { orderId, outcome: request.outcome, status: outcome.status },
        'reservation already settled',
      );
      return;
  }
}
