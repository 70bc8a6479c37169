import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Database, Outbox, Sql } from '@orderly/platform';
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  PaymentRequestedSchema,
} from '../../gen/order/v1/order_events_pb.js';
import { CancellationReason } from '../../gen/order/v1/order_service_pb.js';
import type { Order } from '../domain/order.js';
import type { OrderDeps, OrderEventKind, OrderStore } from '../domain/order-store.js';
import * as repository from './order-repository.js';

export const cancellationReasonToProto: Record<NonNullable<Order['cancellationReason']>, CancellationReason> = {
  OUT_OF_STOCK: CancellationReason.OUT_OF_STOCK,
  PAYMENT_DECLINED: CancellationReason.PAYMENT_DECLINED,
  TIMED_OUT: CancellationReason.TIMED_OUT,
};

/** Writes the order's event to the outbox, in the transaction that changed the order. */
async function publishOrderEvent(tx: Sql, outbox: Outbox, order: Order, event: OrderEventKind): Promise<void> {
  const common = { orderId: order.id, customerId: order.customerId };
  // Every span that handles this event, in any service, is labelled with the order it is about.
  const correlation = { correlation: { 'order.id': order.id } };
  switch (event) {
    case 'OrderPlaced':
      await outbox.add(tx, OrderPlacedSchema, {
        ...common,
        lines: order.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
      }, correlation);
      return;
    case 'PaymentRequested':
      await outbox.add(tx, PaymentRequestedSchema, {
        ...common,
        amountCents: BigInt(order.totalCents),
        paymentMethod: order.paymentMethod,
      }, correlation);
      return;
    case 'OrderConfirmed':
      await outbox.add(tx, OrderConfirmedSchema, {
        ...common,
        totalCents: BigInt(order.totalCents),
        reservationId: order.reservationId ?? '',
        placedAt: timestampFromDate(order.placedAt),
      }, correlation);
      return;
    case 'OrderCancelled':
      await outbox.add(tx, OrderCancelledSchema, {
        ...common,
        reason: order.cancellationReason ? cancellationReasonToProto[order.cancellationReason] : CancellationReason.UNSPECIFIED,
        reservationId: order.reservationId ?? '',
        placedAt: timestampFromDate(order.placedAt),
      }, correlation);
      return;
  }
}

export function orderStore(tx: Sql, outbox: Outbox): OrderStore {
  return {
    insert: (order, key, fingerprint) => repository.insertOrder(tx, order, key, fingerprint),
    findByIdempotencyKey: (customerId, key) => repository.findByIdempotencyKey(tx, customerId, key),
    find: (orderId, options) => repository.findOrder(tx, orderId, options),
    list: (customerId, limit) => repository.listOrders(tx, customerId, limit),
    saveTransition: (before, after) => repository.saveTransition(tx, before, after),
    lockTimedOut: (cutoff, limit) => repository.lockTimedOutOrders(tx, cutoff, limit),
    publish: (order, event) => publishOrderEvent(tx, outbox, order, event),
  };
}

export function orderDeps(db: Database, outbox: Outbox, clock: () => Date, newId: () => string): OrderDeps {
  return {
    transaction: (work, deadline) => db.transaction((tx) => work(orderStore(tx, outbox)), deadline),
    clock,
    newId,
  };
}
