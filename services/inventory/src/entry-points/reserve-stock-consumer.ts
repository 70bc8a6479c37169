import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { on, type EventHandler, type Logger, type Outbox } from '@orderly/platform';
import { OrderPlacedSchema } from '@orderly/order/contract/order_events';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '../../gen/inventory/v1/inventory_events_pb.js';
import { reservationRace, unusableEvent } from '../domain/inventory-errors.js';
import { reserveMovement } from '../domain/product.js';
import {
  decideRepeatedOrderPlaced,
  decideReservation,
  mergeOrderLines,
  reservationExpiresAt,
} from '../domain/reservation.js';
import { applyStockMovements, lockProducts } from '../data-access/product-repository.js';
import {
  insertReservation,
  lockReservationOfOrder,
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
 * transaction. The product rows are locked in SKU order before deciding, so concurrent orders
 * can never oversell; the unique order id makes a second reservation for one order impossible.
 */
export function reserveStockHandlers(deps: ReserveStockDeps): EventHandler[] {
  return [
    on(OrderPlacedSchema, async (tx, event) => {
      const { orderId } = event;
      if (orderId === '') throw unusableEvent(OrderPlacedSchema.typeName, 'order_id is empty');
      const now = deps.clock();

      const existing = await lockReservationOfOrder(tx, orderId);
      if (existing) {
        if (decideRepeatedOrderPlaced(existing.status) === 'ignore') {
          deps.log.info(
            { orderId, reservationId: existing.id },
            'order already has stock reserved, ignored',
          );
          return;
        }
        await deps.outbox.add(tx, StockRejectedSchema, {
          orderId,
          skus: [],
          reason: 'ORDER_ALREADY_SETTLED',
        });
        deps.log.info(
          { orderId, status: existing.status },
          'order already settled, stock rejected',
        );
        return;
      }

      const lines = event.lines.map((line) => ({ sku: line.sku, quantity: line.quantity }));
      const products = await lockProducts(
        tx,
        mergeOrderLines(lines).map((line) => line.sku),
      );
      const decision = decideReservation(lines, products);

      if (decision.outcome === 'rejected') {
        const rejected = await insertReservation(tx, {
          orderId,
          status: 'REJECTED',
          createdAt: now,
          settledAt: now,
        });
        if (rejected === undefined) throw reservationRace(orderId);
        await deps.outbox.add(tx, StockRejectedSchema, {
          orderId,
          skus: [...decision.skus],
          reason: decision.reason,
        });
        deps.log.info({ orderId, reason: decision.reason, skus: decision.skus }, 'stock rejected');
        return;
      }

      const expiresAt = reservationExpiresAt(now, deps.reservationTtlMs);
      const reservationId = await insertReservation(
        tx,
        {
          orderId,
          status: 'RESERVED',
          createdAt: now,
          expiresAt,
        },
        decision.lines,
      );
      if (reservationId === undefined) throw reservationRace(orderId);
      await applyStockMovements(
        tx,
        decision.lines.map((line) => reserveMovement(line.sku, line.quantity)),
        now,
        // locked by lockProducts above, in SKU order, before deciding
        { alreadyLocked: true },
      );
      await deps.outbox.add(tx, StockReservedSchema, {
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
      deps.log.info({ orderId, reservationId }, 'stock reserved');
    }),
  ];
}
