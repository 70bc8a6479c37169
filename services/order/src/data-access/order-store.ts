import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  GroupCommit,
  deadlineExceeded,
  type Database,
  type GroupCommitOptions,
  type Outbox,
  type PreparedEvent,
  type Sql,
} from '@orderly/platform';
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  PaymentRequestedSchema,
} from '@orderly/order-contract/order_events';
import { CancellationReason } from '@orderly/order-contract/order_service';
import type { Order } from '../domain/order.js';
import type {
  NewOrder,
  OrderDeps,
  OrderEventKind,
  OrderStore,
  RecordOutcome,
} from '../domain/order-store.js';
import * as repository from './order-repository.js';

export const cancellationReasonToProto: Record<
  NonNullable<Order['cancellationReason']>,
  CancellationReason
> = {
  OUT_OF_STOCK: CancellationReason.OUT_OF_STOCK,
  PAYMENT_DECLINED: CancellationReason.PAYMENT_DECLINED,
  TIMED_OUT: CancellationReason.TIMED_OUT,
};

/**
 * Builds the order's event for the outbox, capturing the active trace context: call it in the
 * context of what caused the event (the answer's delivery), write it with `Outbox.addPrepared` in
 * the transaction that changed the order.
 */
function prepareOrderEvent(outbox: Outbox, order: Order, event: OrderEventKind): PreparedEvent {
  const common = { orderId: order.id, customerId: order.customerId };
  // Every span that handles this event, in any service, is labelled with the order it is about.
  const correlation = { correlation: { 'order.id': order.id } };
  switch (event) {
    case 'OrderPlaced':
      return outbox.prepare(
        OrderPlacedSchema,
        {
          ...common,
          lines: order.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
        },
        correlation,
      ).prepared;
    case 'PaymentRequested':
      return outbox.prepare(
        PaymentRequestedSchema,
        {
          ...common,
          amountCents: BigInt(order.totalCents),
          paymentMethod: order.paymentMethod,
        },
        correlation,
      ).prepared;
    case 'OrderConfirmed':
      return outbox.prepare(
        OrderConfirmedSchema,
        {
          ...common,
          totalCents: BigInt(order.totalCents),
          reservationId: order.reservationId ?? '',
          placedAt: timestampFromDate(order.placedAt),
        },
        correlation,
      ).prepared;
    case 'OrderCancelled':
      return outbox.prepare(
        OrderCancelledSchema,
        {
          ...common,
          reason: order.cancellationReason
            ? cancellationReasonToProto[order.cancellationReason]
            : CancellationReason.UNSPECIFIED,
          reservationId: order.reservationId ?? '',
          placedAt: timestampFromDate(order.placedAt),
        },
        correlation,
      ).prepared;
  }
}

export function orderStore(tx: Sql, outbox: Outbox): OrderStore {
  return {
    find: (orderId) => repository.findOrder(tx, orderId),
    list: (customerId, limit) => repository.listOrders(tx, customerId, limit),
    lockForSaga: (orderIds) => repository.lockOrders(tx, orderIds),
    lockTimedOut: (cutoff, limit) => repository.lockTimedOutOrders(tx, cutoff, limit),
    saveChanges: (changes) => repository.saveChanges(tx, changes),
    prepare: (order, event) => prepareOrderEvent(outbox, order, event),
    publish: (events) => outbox.addPrepared(tx, events),
  };
}

interface NewOrderUnit {
  readonly record: NewOrder;
  readonly orderPlaced: PreparedEvent;
  readonly signal: AbortSignal | undefined;
}

/**
 * Group commit for new orders: concurrent PlaceOrder calls share one transaction — one statement
 * each for orders, lines, history and outbox rows, and one commit — instead of one of each per order.
 */
function newOrderGroupCommit(db: Database, outbox: Outbox, options: () => GroupCommitOptions) {
  return new GroupCommit<NewOrderUnit, RecordOutcome>(options, (units) =>
    db.transaction(async (tx) => {
      // A caller whose deadline passed while it waited for the batch is answered, not recorded.
      const live = units.filter((u) => !u.signal?.aborted);
      const inserted = await repository.insertOrders(
        tx,
        live.map((u) => u.record),
      );
      await outbox.addPrepared(
        tx,
        live.filter((u) => inserted.has(u.record.order.id)).map((u) => u.orderPlaced),
      );
      const outcomes: (RecordOutcome | Error)[] = [];
      for (const unit of units) {
        if (unit.signal?.aborted) outcomes.push(deadlineExceeded('PlaceOrder', unit.signal.reason));
        else if (inserted.has(unit.record.order.id)) outcomes.push({ created: true });
        else {
          // The key was taken (now or earlier); ON CONFLICT waited for its transaction, so it is visible.
          const { customerId } = unit.record.order;
          const existing = await repository.findByIdempotencyKey(
            tx,
            customerId,
            unit.record.idempotencyKey,
          );
          outcomes.push({ created: false, existing });
        }
      }
      return outcomes;
    }),
  );
}

export function orderDeps(
  db: Database,
  outbox: Outbox,
  clock: () => Date,
  newId: () => string,
  groupCommit: () => GroupCommitOptions,
): OrderDeps {
  const newOrders = newOrderGroupCommit(db, outbox, groupCommit);
  return {
    recordNewOrder: (record, deadline) => {
      // Prepared here, in the caller's context, so the event carries the caller's trace.
      const { prepared } = outbox.prepare(
        OrderPlacedSchema,
        {
          orderId: record.order.id,
          customerId: record.order.customerId,
          lines: record.order.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
        },
        { correlation: { 'order.id': record.order.id } },
      );
      return newOrders.submit({ record, orderPlaced: prepared, signal: deadline?.signal });
    },
    transaction: (work, deadline) => db.transaction((tx) => work(orderStore(tx, outbox)), deadline),
    clock,
    newId,
  };
}
