import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  type OrderCancelled,
  type OrderConfirmed,
} from '@orderly/order-contract/order_events';
import { CancellationReason } from '@orderly/order-contract/order_service';
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
import { composeMessage } from '../domain/compose-message.js';
import type { CancellationCause, CustomerMessage } from '../domain/notification.js';
import { notificationEventInvalid } from '../domain/notification-errors.js';
import { notificationIdFor } from '../domain/notification-id.js';
import type { Sender } from '../domain/sender.js';
import { notificationRepository } from '../data-access/notification-repository.js';

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
};

const wireKinds = {
  ORDER_CONFIRMED: NotificationKind.ORDER_CONFIRMED,
  ORDER_CANCELLED: NotificationKind.ORDER_CANCELLED,
} as const;

/**
 * `notification.customer-messages`: one message per order, for whichever terminal event
 * (OrderConfirmed or OrderCancelled) arrives first. A later terminal event for the same order is
 * ignored: the order state machine never emits both, so a second one is a bug upstream and the
 * customer keeps the first message. Both types share one set-based handler: a run of events (a
 * batch) is recorded with one insert and one outbox statement, then its messages are sent.
 */
export function orderOutcomesHandlers(deps: NotificationConsumerDeps): EventHandler[] {
  const notify = async (
    tx: Sql,
    run: readonly { item: BatchItem<unknown>; message: CustomerMessage }[],
  ): Promise<void> => {
    // The first event of the run for an order is the one that counts, as if applied one by one.
    const firsts = new Map<string, CustomerMessage>();
    for (const { message } of run)
      if (!firsts.has(message.orderId)) firsts.set(message.orderId, message);
    const inserted = await notificationRepository.insertAbsent(
      tx,
      [...firsts.values()],
      deps.clock(),
    );
    const fresh = run.filter(
      ({ message }) => firsts.get(message.orderId) === message && inserted.has(message.orderId),
    );
    const freshMessages = new Set(fresh.map(({ message }) => message));
    for (const { item, message } of run) {
      if (freshMessages.has(message)) continue;
      item.inTrace(() =>
        deps.log.info(
          { orderId: message.orderId, kind: message.kind },
          'order already notified, event ignored',
        ),
      );
    }
    await deps.outbox.addPrepared(
      tx,
      fresh.map(
        ({ item, message }) =>
          item.inTrace(() =>
            deps.outbox.prepare(CustomerNotifiedSchema, {
              orderId: message.orderId,
              customerId: message.customerId,
              kind: wireKinds[message.kind],
              notificationId: message.notificationId,
            }),
          ).prepared,
      ),
    );
    // Last, inside the transaction: a failing send rolls the records back and the events are
    // retried. Every send has finished before that, so a sink sees a repeat only after the line.
    const sent = await Promise.allSettled(
      fresh.map(({ item, message }) => item.inTrace(() => deps.sender.send(message))),
    );
    const failed = sent.find((result) => result.status === 'rejected');
    if (failed) throw failed.reason;
  };
  return onBatchOf([OrderConfirmedSchema, OrderCancelledSchema] as const, (tx, items) => {
    for (const { event } of items)
      if (event.orderId === '')
        throw notificationEventInvalid(event.$typeName, 'order id is empty');
    return notify(
      tx,
      items.map((item) => ({ item, message: messageFor(item.event) })),
    );
  });
}

function messageFor(event: OrderConfirmed | OrderCancelled): CustomerMessage {
  const common = {
    notificationId: notificationIdFor(event.orderId),
    orderId: event.orderId,
    customerId: event.customerId,
  };
  return event.$typeName === OrderConfirmedSchema.typeName
    ? {
        ...common,
        kind: 'ORDER_CONFIRMED',
        text: composeMessage('ORDER_CONFIRMED', event.orderId, event.totalCents),
      }
    : {
        ...common,
        kind: 'ORDER_CANCELLED',
        text: composeMessage(
          'ORDER_CANCELLED',
          event.orderId,
          causes[event.reason] ?? 'UNSPECIFIED',
        ),
      };
}
