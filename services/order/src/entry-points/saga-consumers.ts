import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { onBatchOf, type EventHandler, type Logger, type Outbox } from '@orderly/platform';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory-contract/inventory_events';
import {
  PaymentFailedSchema,
  PaymentSucceededSchema,
} from '@orderly/payment-contract/payment_events';
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

/** How one kind of answer advances an order. */
interface AnswerRule {
  readonly schema: DescMessage;
  readonly decide: (order: Order, event: never, now: Date) => SagaStep;
}

function answerRule<Desc extends DescMessage>(
  schema: Desc,
  decide: (order: Order, event: MessageShape<Desc> & { orderId: string }, now: Date) => SagaStep,
): AnswerRule {
  return { schema, decide: decide };
}

/**
 * Answer events → saga steps on the orders they name, in the inbox transaction. A run of answers
 * (consecutive ones of a batch, of any of the subscription's types) is applied set-based: one
 * statement locks and loads all their orders in id order, one stores every change and one writes
 * every event, instead of four per answer. One run per batch means one lock statement per
 * transaction, so two batches cannot deadlock on orders.
 */
function sagaAnswers(deps: SagaConsumerDeps, rules: readonly AnswerRule[]): EventHandler[] {
  const byType = new Map(rules.map((rule) => [rule.schema.typeName, rule]));
  return onBatchOf(
    rules.map((rule) => rule.schema),
    async (tx, items) => {
      const answers = items.map((item) => {
        const event = item.event as unknown as { $typeName: string; orderId: string };
        const rule = byType.get(event.$typeName)!;
        return { event, rule, item };
      });
      const steps = await advanceSagas(
        orderStore(tx, deps.outbox),
        answers.map(({ event, rule, item }) => ({
          orderId: event.orderId,
          answer: rule.schema.name,
          decide: (order: Order) => rule.decide(order, event as never, deps.clock()),
          inTrace: <T>(work: () => T) => item.inTrace(work),
        })),
      );
      // In each answer's trace, so its log lines carry it.
      steps.forEach((step, index) => {
        const { event, rule, item } = answers[index]!;
        item.inTrace(() => reportStep(deps, rule.schema.name, event.orderId, step));
      });
    },
  );
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
  return sagaAnswers(deps, [
    answerRule(StockReservedSchema, (order, event, now) =>
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
    answerRule(StockRejectedSchema, (order, _event, now) => onStockRejected(order, now)),
  ]);
}

export function paymentResultHandlers(deps: SagaConsumerDeps): EventHandler[] {
  return sagaAnswers(deps, [
    answerRule(PaymentSucceededSchema, (order, _event, now) => onPaymentSucceeded(order, now)),
    answerRule(PaymentFailedSchema, (order, _event, now) => onPaymentFailed(order, now)),
  ]);
}
