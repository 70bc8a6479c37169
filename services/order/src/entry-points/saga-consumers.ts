import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { on, type EventHandler, type Logger, type Outbox } from '@orderly/platform';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory/contract/inventory_events';
import {
  PaymentFailedSchema,
  PaymentSucceededSchema,
} from '@orderly/payment/contract/payment_events';
import {
  advanceSaga,
  onPaymentFailed,
  onPaymentSucceeded,
  onStockRejected,
  onStockReserved,
  type SagaStep,
} from '../domain/fulfillment-saga.js';
import type { Order } from '../domain/order.js';
import { orderStore } from '../data-access/order-store.js';

/** Subscriptions that feed answers from inventory and payment into the fulfilment saga. */
export const stockResultsSubscription = 'order.stock-results';
export const paymentResultsSubscription = 'order.payment-results';

export interface SagaConsumerDeps {
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly clock: () => Date;
  /** Told about every saga that reached CONFIRMED or CANCELLED (metrics, tests). */
  readonly onFinished?: (order: Order) => void;
}

/** One answer event → one saga step on the order it names, in the inbox transaction. */
function sagaAnswer<Desc extends DescMessage>(
  deps: SagaConsumerDeps,
  schema: Desc,
  rule: (order: Order, event: MessageShape<Desc> & { orderId: string }, now: Date) => SagaStep,
): EventHandler {
  const answer = schema.name;
  return on(schema, async (tx, message) => {
    const event = message as MessageShape<Desc> & { orderId: string };
    const step = await advanceSaga(orderStore(tx, deps.outbox), event.orderId, answer, (order) =>
      rule(order, event, deps.clock()),
    );
    if (step.kind === 'ignored') {
      deps.log.info({ orderId: event.orderId, answer, why: step.why }, 'saga answer ignored');
      return;
    }
    if (step.order.status === 'CONFIRMED' || step.order.status === 'CANCELLED') {
      deps.log.info(
        {
          orderId: step.order.id,
          status: step.order.status,
          reason: step.order.cancellationReason,
        },
        'saga finished',
      );
      deps.onFinished?.(step.order);
    }
  });
}

export function stockResultHandlers(deps: SagaConsumerDeps): EventHandler[] {
  return [
    sagaAnswer(deps, StockReservedSchema, (order, event, now) =>
      onStockReserved(
        order,
        {
          reservationId: event.reservationId,
          totalCents: Number(event.totalCents),
          lines: event.lines.map((l) => ({
            sku: l.sku,
            quantity: l.quantity,
            unitPriceCents: Number(l.unitPriceCents),
          })),
        },
        now,
      ),
    ),
    sagaAnswer(deps, StockRejectedSchema, (order, _event, now) => onStockRejected(order, now)),
  ];
}

export function paymentResultHandlers(deps: SagaConsumerDeps): EventHandler[] {
  return [
    sagaAnswer(deps, PaymentSucceededSchema, (order, _event, now) =>
      onPaymentSucceeded(order, now),
    ),
    sagaAnswer(deps, PaymentFailedSchema, (order, _event, now) => onPaymentFailed(order, now)),
  ];
}
