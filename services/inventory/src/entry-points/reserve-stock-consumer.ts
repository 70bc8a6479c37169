import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  onBatchOf,
  type BatchItem,
  type EventHandler,
  type Logger,
  type Outbox,
  type PreparedEvent,
  type Sql,
} from '@orderly/platform';
import { OrderPlacedSchema, type OrderPlaced } from '@orderly/order-contract/order_events';
import {
  OrderPlacedSchema as OrderPlacedV2Schema,
  type OrderPlaced as OrderPlacedV2,
} from '@orderly/order-contract/v2/order_events';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory-contract/inventory_events';
import { unusableEvent } from '../domain/inventory-errors.js';
import type { ReservationRequest } from '../domain/reservation.js';
import { inventoryStore } from '../data-access/inventory-store.js';
import { reserveStock, type ReserveStockOutcome } from '../use-cases/reserve-stock.js';

export const reserveStockSubscription = 'inventory.reserve-stock';

export interface ReserveStockDeps {
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly clock: () => Date;
  readonly reservationTtlMs: number;
}

/**
 * OrderPlaced → all lines reserved (StockReserved) or none (StockRejected), in the inbox's
 * transaction. A run of events (a batch; one event on its own is a run of one) is one call of
 * reserveStock, with a fixed number of statements: its orders' reservations and the stock rows it
 * needs are locked (reservation-repository.ts, "lock order"), every order is decided in delivery
 * order and the results are written with one statement per table, the answers with one more. The
 * unique order id makes a second reservation for one order impossible.
 */
export function reserveStockHandlers(deps: ReserveStockDeps): EventHandler[] {
  // Version 1 and 2 of OrderPlaced are one run: the same event in both versions has one event id,
  // so the subscription's inbox applies whichever arrives first and skips the other.
  return onBatchOf([OrderPlacedSchema, OrderPlacedV2Schema] as const, (tx, items) =>
    reserve(tx, deps, items),
  );
}

async function reserve(
  tx: Sql,
  deps: ReserveStockDeps,
  items: readonly BatchItem<OrderPlaced | OrderPlacedV2>[],
): Promise<void> {
  for (const { event } of items)
    if (event.orderId === '') throw unusableEvent(event.$typeName, 'order_id is empty');
  const requests: ReservationRequest[] = items.map(({ event }) => ({
    orderId: event.orderId,
    lines: event.lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
    currency: event.currency,
  }));

  const outcomes = await reserveStock(
    inventoryStore(tx),
    requests,
    deps.clock(),
    deps.reservationTtlMs,
  );

  const events: PreparedEvent[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    const item = items[index]!;
    const prepared = item.inTrace(() => answerOf(deps.outbox, outcome));
    if (prepared) events.push(prepared);
  }
  await deps.outbox.addPrepared(tx, events);
  // Logged once the run's writes succeeded, each in its event's trace.
  for (const [index, outcome] of outcomes.entries())
    items[index]!.inTrace(() => logOutcome(deps.log, outcome));
}

/** The event that answers the order: StockReserved, StockRejected or none. */
function answerOf(outbox: Outbox, outcome: ReserveStockOutcome): PreparedEvent | undefined {
  const { orderId } = outcome;
  switch (outcome.kind) {
    case 'reserved':
      return outbox.prepare(StockReservedSchema, {
        orderId,
        reservationId: outcome.reservationId,
        lines: outcome.lines.map((line) => ({
          sku: line.sku,
          quantity: line.quantity,
          unitPriceCents: line.unitPriceCents,
        })),
        totalCents: outcome.totalCents,
        currency: outcome.currency,
        expiresAt: timestampFromDate(outcome.expiresAt),
      }).prepared;
    case 'rejected':
      return outbox.prepare(StockRejectedSchema, {
        orderId,
        skus: [...outcome.skus],
        reason: outcome.reason,
      }).prepared;
    case 'already-settled':
      return outbox.prepare(StockRejectedSchema, {
        orderId,
        skus: [],
        reason: 'ORDER_ALREADY_SETTLED',
      }).prepared;
    case 'already-reserved':
      return undefined;
  }
}

function logOutcome(log: Logger, outcome: ReserveStockOutcome): void {
  const { orderId } = outcome;
  switch (outcome.kind) {
    case 'reserved':
      log.info({ orderId, reservationId: outcome.reservationId }, 'stock reserved');
      return;
    case 'rejected':
      log.info({ orderId, reason: outcome.reason, skus: outcome.skus }, 'stock rejected');
      return;
    case 'already-settled':
      log.info({ orderId, status: outcome.status }, 'order already settled, stock rejected');
      return;
    case 'already-reserved':
      log.info(
        { orderId, reservationId: outcome.reservationId },
        'order already has stock reserved, ignored',
      );
      return;
  }
}
