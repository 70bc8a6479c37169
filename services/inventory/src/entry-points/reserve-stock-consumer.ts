import { randomUUID } from 'node:crypto';
import type { DescMessage } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  onBatch,
  type BatchItem,
  type EventHandler,
  type EventInit,
  type Logger,
  type Outbox,
  type PreparedEvent,
  type Sql,
} from '@orderly/platform';
import { OrderPlacedSchema, type OrderPlaced } from '@orderly/order-contract/order_events';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory-contract/inventory_events';
import { unusableEvent } from '../domain/inventory-errors.js';
import { reserveMovement, type StockMovement } from '../domain/product.js';
import {
  decideReservations,
  reservationExpiresAt,
  type ReservationRequest,
} from '../domain/reservation.js';
import { applyStockMovements, lockProducts } from '../data-access/product-repository.js';
import {
  lockReservationsOfOrders,
  writeReservations,
  type NewReservation,
} from '../data-access/reservation-repository.js';

export const reserveStockSubscription = 'inventory.reserve-stock';

export interface ReserveStockDeps {
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly clock: () => Date;
  readonly reservationTtlMs: number;
}

/**
 * OrderPlaced → all lines reserved (StockReserved) or none (StockRejected), in the inbox's
 * transaction. A run of events (a batch; one event on its own is a run of one) is applied with a
 * fixed number of statements: its orders' reservations and the stock rows it needs are locked
 * (reservation-repository.ts, "lock order"), every order is decided in memory in delivery order — an earlier
 * order takes the stock first, as if applied alone — and the results are written with one
 * statement per table. The unique order id makes a second reservation for one order impossible.
 */
export function reserveStockHandlers(deps: ReserveStockDeps): EventHandler[] {
  return [onBatch(OrderPlacedSchema, (tx, items) => reserveStock(tx, deps, items))];
}

async function reserveStock(
  tx: Sql,
  deps: ReserveStockDeps,
  items: readonly BatchItem<OrderPlaced>[],
): Promise<void> {
  for (const { event } of items)
    if (event.orderId === '') throw unusableEvent(OrderPlacedSchema.typeName, 'order_id is empty');
  const now = deps.clock();
  const requests: ReservationRequest[] = items.map(({ event }) => ({
    orderId: event.orderId,
    lines: event.lines.map((line) => ({ sku: line.sku, quantity: line.quantity })),
  }));

  const existing = await lockReservationsOfOrders(
    tx,
    requests.map((r) => r.orderId),
  );
  const products = await lockProducts(
    tx,
    requests.filter((r) => !existing.has(r.orderId)).flatMap((r) => r.lines.map((l) => l.sku)),
  );
  const steps = decideReservations(requests, existing, products, randomUUID);

  const expiresAt = reservationExpiresAt(now, deps.reservationTtlMs);
  const inserts: NewReservation[] = [];
  const movements: StockMovement[] = [];
  const events: PreparedEvent[] = [];
  // Logged once the run's writes succeeded, each in its event's trace.
  const logs: { item: BatchItem<OrderPlaced>; write: () => void }[] = [];
  for (const [index, step] of steps.entries()) {
    const item = items[index]!;
    const { orderId } = item.event;
    const publish = <Desc extends DescMessage>(schema: Desc, init: EventInit<Desc>) =>
      events.push(item.inTrace(() => deps.outbox.prepare(schema, init).prepared));
    if (step.kind === 'ignore') {
      logs.push({
        item,
        write: () =>
          deps.log.info(
            { orderId, reservationId: step.reservationId },
            'order already has stock reserved, ignored',
          ),
      });
      continue;
    }
    if (step.kind === 'already-settled') {
      publish(StockRejectedSchema, { orderId, skus: [], reason: 'ORDER_ALREADY_SETTLED' });
      logs.push({
        item,
        write: () =>
          deps.log.info({ orderId, status: step.status }, 'order already settled, stock rejected'),
      });
      continue;
    }
    const { decision, reservationId } = step;
    if (decision.outcome === 'rejected') {
      inserts.push({
        id: reservationId,
        orderId,
        status: 'REJECTED',
        createdAt: now,
        settledAt: now,
      });
      publish(StockRejectedSchema, {
        orderId,
        skus: [...decision.skus],
        reason: decision.reason,
      });
      logs.push({
        item,
        write: () =>
          deps.log.info(
            { orderId, reason: decision.reason, skus: decision.skus },
            'stock rejected',
          ),
      });
      continue;
    }
    inserts.push({
      id: reservationId,
      orderId,
      status: 'RESERVED',
      createdAt: now,
      expiresAt,
      lines: decision.lines,
    });
    for (const line of decision.lines) movements.push(reserveMovement(line.sku, line.quantity));
    publish(StockReservedSchema, {
      orderId,
      reservationId,
      lines: decision.lines.map((line) => ({
        sku: line.sku,
        quantity: line.quantity,
        unitPriceCents: line.unitPriceCents,
      })),
      totalCents: decision.totalCents,
      expiresAt: timestampFromDate(expiresAt),
    });
    logs.push({
      item,
      write: () => deps.log.info({ orderId, reservationId }, 'stock reserved'),
    });
  }

  await writeReservations(tx, { inserts, transitions: [] }, now);
  await applyStockMovements(tx, movements, now);
  await deps.outbox.addPrepared(tx, events);
  for (const { item, write } of logs) item.inTrace(write);
}
