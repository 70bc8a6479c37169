import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { onBatch, type EventHandler, type Logger, type Outbox } from '@orderly/platform';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory/contract/inventory_events';
import {
  PaymentFailedSchema,
  PaymentSucceededSchema,
} from '@orderly/payment/contract/payment_events';
import {
  advanceSagas,
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

/**
 * Answer events → saga steps on the orders they name, in the inbox transaction. A run of answers
 * (consecutive ones of a batch) is applied set-based: one statement locks and loads all their
 * orders, one stores every change and one writes every event, instead of four per answer.
 */
function sagaAnswers<Desc extends DescMessage>(
  deps: SagaConsumerDeps,
  schema: Desc,
  rule: (order: Order, event: MessageShape<Desc> & { orderId: string }, now: Date) => SagaStep,
): EventHandler {
  const answer = schema.name;
  return onBatch(schema, async (tx, items) => {
    const events = items.map((item) => item.event as MessageShape<Desc> & { orderId: string });
    const steps = await advanceSagas(
      orderStore(tx, deps.outbox),
      events.map((event, index) => ({
        orderId: event.orderId,
        answer,
        decide: (order) => rule(order, event, deps.clock()),
        inTrace: (work) => items[index]!.inTrace(work),
      })),
    );
    // In each answer's trace, so its log lines carry it.
    steps.forEach((step, index) =>
      items[index]!.inTrace(() => reportStep(deps, answer, events[index]!.orderId, step)),
    );
  });
}

function reportStep(deps: SagaConsumerDeps, answer: string, orderId: string, step: SagaStep): void {
  if (step.kind === 'ignored') {
    deps.log.info({ orderId, answer, why: step.why }, 'saga answer ignored');
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
}

export function stockResultHandlers(deps: SagaConsumerDeps): EventHandler[] {
  return [
    sagaAnswers(deps, StockReservedSchema, (order, event, now) =>
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
    sagaAnswers(deps, StockRejectedSchema, (order, _event, now) => onStockRejected(order, now)),
  ];
}

export function paymentResultHandlers(deps: SagaConsumerDeps): EventHandler[] {
  return [
    sagaAnswers(deps, PaymentSucceededSchema, (order, _event, now) =>
      onPaymentSucceeded(order, now),
    ),
    sagaAnswers(deps, PaymentFailedSchema, (order, _event, now) => onPaymentFailed(order, now)),
  ];
}
