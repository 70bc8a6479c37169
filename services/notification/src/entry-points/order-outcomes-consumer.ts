import { OrderCancelledSchema, OrderConfirmedSchema } from '@orderly/order/contract/order_events';
import { CancellationReason } from '@orderly/order/contract/order_service';
import { on, type EventHandler, type Logger, type Outbox, type Sql } from '@orderly/platform';
import {
  CustomerNotifiedSchema,
  NotificationKind,
} from '../../gen/notification/v1/notification_events_pb.js';
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
 * customer keeps the first message.
 */
export function orderOutcomesHandlers(deps: NotificationConsumerDeps): EventHandler[] {
  const notify = async (tx: Sql, message: CustomerMessage): Promise<void> => {
    const inserted = await notificationRepository.insertIfAbsent(tx, message, deps.clock());
    if (!inserted) {
      deps.log.info(
        { orderId: message.orderId, kind: message.kind },
        'order already notified, event ignored',
      );
      return;
    }
    await deps.outbox.add(tx, CustomerNotifiedSchema, {
      orderId: message.orderId,
      customerId: message.customerId,
      kind: wireKinds[message.kind],
      notificationId: message.notificationId,
    });
    // Last, inside the transaction: a failing send rolls the record back and the event is retried.
    await deps.sender.send(message);
  };
  return [
    on(OrderConfirmedSchema, async (tx, event) => {
      if (event.orderId === '')
        throw notificationEventInvalid(OrderConfirmedSchema.typeName, 'order id is empty');
      await notify(tx, {
        notificationId: notificationIdFor(event.orderId),
        orderId: event.orderId,
        customerId: event.customerId,
        kind: 'ORDER_CONFIRMED',
        text: composeMessage('ORDER_CONFIRMED', event.orderId, event.totalCents),
      });
    }),
    on(OrderCancelledSchema, async (tx, event) => {
      if (event.orderId === '')
        throw notificationEventInvalid(OrderCancelledSchema.typeName, 'order id is empty');
      await notify(tx, {
        notificationId: notificationIdFor(event.orderId),
        orderId: event.orderId,
        customerId: event.customerId,
        kind: 'ORDER_CANCELLED',
        text: composeMessage(
          'ORDER_CANCELLED',
          event.orderId,
          causes[event.reason] ?? 'UNSPECIFIED',
        ),
      });
    }),
  ];
}
