import { onBatchOf, type EventHandler, type Logger, type Outbox } from '@orderly/platform';
import type { SagaAnswer, SagaStep } from '../domain/fulfillment-saga.js';
import type { Order } from '../domain/order.js';
import { orderStore } from '../data-access/order-store.js';
import { advanceSagas } from '../use-cases/advance-sagas.js';
import {
  paymentAnswerSchemas,
  riskAnswerSchemas,
  sagaAnswerFromEvent,
  sagaStepEvents,
  stockAnswerSchemas,
} from './order-event-mapping.js';

/** Subscriptions that feed answers from inventory, risk and payment into the fulfilment saga. */
export const stockResultsSubscription = 'order.stock-results';
export const riskResultsSubscription = 'order.risk-results';
export const paymentResultsSubscription = 'order.payment-results';

export interface SagaConsumerDeps {
  readonly outbox: Outbox;
  readonly log: Logger;
  readonly clock: () => Date;
  /** services.order.riskAssessment: reserved orders are assessed by risk before payment. */
  readonly riskAssessment: () => boolean;
  /** Told about every saga that reached CONFIRMED or CANCELLED (metrics, tests). */
  readonly onFinished?: (order: Order) => void;
}

/**
 * Answer events → saga steps on the orders they name, in the inbox transaction. A run of answers
 * (consecutive ones of a batch, of any of the subscription's types) is applied set-based: one
 * statement locks and loads all their orders in id order, one stores every change and one writes
 * every event, instead of four per answer. One run per batch means one lock statement per
 * transaction, so two batches cannot deadlock on orders.
 */
function sagaAnswers(
  deps: SagaConsumerDeps,
  schemas: typeof stockAnswerSchemas | typeof riskAnswerSchemas | typeof paymentAnswerSchemas,
): EventHandler[] {
  return onBatchOf(schemas, async (tx, items) => {
    const answers = items.map((item) => sagaAnswerFromEvent(item.event));
    const steps = await advanceSagas(orderStore(tx), answers, deps.clock(), {
      riskAssessment: deps.riskAssessment(),
    });
    await deps.outbox.addPrepared(tx, sagaStepEvents(deps.outbox, steps, items));
    // In each answer's trace, so its log lines carry it.
    steps.forEach((step, index) => {
      items[index]!.inTrace(() => reportStep(deps, answers[index]!, step));
    });
  });
}

function reportStep(deps: SagaConsumerDeps, answer: SagaAnswer, step: SagaStep): void {
  if (step.kind === 'ignored') {
    deps.log.info(
      { orderId: answer.orderId, answer: answer.kind, why: step.why },
      'saga answer ignored',
    );
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
  return sagaAnswers(deps, stockAnswerSchemas);
}

export function riskResultHandlers(deps: SagaConsumerDeps): EventHandler[] {
  return sagaAnswers(deps, riskAnswerSchemas);
}

export function paymentResultHandlers(deps: SagaConsumerDeps): EventHandler[] {
  return sagaAnswers(deps, paymentAnswerSchemas);
}
