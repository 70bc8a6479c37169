import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  type OrderCancelled,
  type OrderConfirmed,
} from '@orderly/order-contract/order_events';
import { CancellationReason } from '@orderly/order-contract/order_service';
import {
  OrderCancelledSchema as OrderCancelledV2Schema,
  OrderConfirmedSchema as OrderConfirmedV2Schema,
  type OrderCancelled as OrderCancelledV2,
  type OrderConfirmed as OrderConfirmedV2,
} from '@orderly/order-contract/v2/order_events';
import {
  onBatchOf,
  type BatchItem,
  type EventHandler,
  type Logger,
  type Outbox,
  type Sql,
} from '@orderly/platform';
import {
  CustomerNotifiedSchema,
  NotificationKind,
} from '@orderly/notification-contract/notification_events';
import type { CancellationCause, OrderOutcome } from '../domain/notification.js';
import { notificationEventInvalid } from '../domain/notification-errors.js';
import type { Sender } from '../domain/sender.js';
import { notificationRepository } from '../data-access/notification-repository.js';
import { notifyCustomers, type NotifyCustomersStore } from '../use-cases/notify-customers.js';

export interface NotificationConsumerDeps {
  readonly outbox: Outbox;
  readonly sender: Sender;
  readonly log: Logger;
  readonly clock: () => Date;
}

// A reason added to the contract later (unknown here) reads as UNSPECIFIED rather than failing.
const causes: Record<CancellationReason, CancellationCause> = {
  [CancellationReason.UNSPECIFIED]: 'UNSPECIFIED',
  [CancellationReason.OUT_OF_STOCK]: 'OUT_OF_STOCK',
  [CancellationReason.PAYMENT_DECLINED]: 'PAYMENT_DECLINED',
  [CancellationReason.TIMED_OUT]: 'TIMED_OUT',
  [CancellationReason.CUSTOMER_REQUESTED]: 'CUSTOMER_REQUESTED',
  [CancellationReason.RISK_REJECTED]: 'RISK_REJECTED',
};

const wireKinds = {
  ORDER_CONFIRMED: NotificationKind.ORDER_CONFIRMED,
  ORDER_CANCELLED: NotificationKind.ORDER_CANCELLED,
} as const;

/**
 * `notification.customer-messages`: OrderConfirmed / OrderCancelled → the customer's message
 * (notifyCustomers: one per order, for whichever terminal event arrives first). Both types share
 * one set-based handler: a run of events (a batch) is one call of the use case, recorded with one
 * insert and one outbox statement, then its messages are sent, each in its event's trace.
 */
export function orderOutcomesHandlers(deps: NotificationConsumerDeps): EventHandler[] {
  // Both versions in one run: an event published in both has one event id (applied once).
  return onBatchOf(
    [
      OrderConfirmedSchema,
      OrderCancelledSchema,
      OrderConfirmedV2Schema,
      OrderCancelledV2Schema,
    ] as const,
    (tx, items) => notify(tx, deps, items),
  );
}

async function notify(
  tx: Sql,
  deps: NotificationConsumerDeps,
  items: readonly BatchItem<OrderEvent>[],
): Promise<void> {
  for (const { event } of items)
    if (event.orderId === '') throw notificationEventInvalid(event.$typeName, 'order id is empty');
  const outcomes = items.map(({ event }) => outcomeOf(event));
  // An order's message is its first event's (the use case keeps the first): sent in its trace.
  const firstOf = new Map<string, BatchItem<unknown>>();
  for (const item of items)
    if (!firstOf.has(item.event.orderId)) firstOf.set(item.event.orderId, item);
  const inTraceOf = <T>(orderId: string, work: () => T): T => firstOf.get(orderId)!.inTrace(work);
  const store: NotifyCustomersStore = {
    insertAbsent: (messages, at) => notificationRepository.insertAbsent(tx, messages, at),
    addCustomerNotified: (messages) =>
      deps.outbox.addPrepared(
        tx,
        messages.map(
          (message) =>
            inTraceOf(message.orderId, () =>
              deps.outbox.prepare(CustomerNotifiedSchema, {
                orderId: message.orderId,
                customerId: message.customerId,
                kind: wireKinds[message.kind],
                notificationId: message.notificationId,
              }),
            ).prepared,
        ),
      ),
  };
  const sender: Sender = {
    send: (message) => inTraceOf(message.orderId, () => deps.sender.send(message)),
  };

  const results = await notifyCustomers(store, sender, outcomes, deps.clock());

  for (const [index, result] of results.entries()) {
    if (result !== 'already-notified') continue;
    const { orderId, kind } = outcomes[index]!;
    items[index]!.inTrace(() =>
      deps.log.info({ orderId, kind }, 'order already notified, event ignored'),
    );
  }
}

type OrderEvent = OrderConfirmed | OrderCancelled | OrderConfirmedV2 | OrderCancelledV2;

function outcomeOf(event: OrderEvent): OrderOutcome {
  const common = { orderId: event.orderId, customerId: event.customerId };
  switch (event.$typeName) {
    case 'order.v1.OrderConfirmed':
      return { ...common, kind: 'ORDER_CONFIRMED', totalCents: event.totalCents };
    case 'order.v2.OrderConfirmed':
      return { ...common, kind: 'ORDER_CONFIRMED', totalCents: event.total?.amountMinor ?? 0n };
    default:
      // The reasons have the same numbers in both versions.
      return {
        ...common,
        kind: 'ORDER_CANCELLED',
        cause: causes[event.reason] ?? 'UNSPECIFIED',
      };
  }
}
