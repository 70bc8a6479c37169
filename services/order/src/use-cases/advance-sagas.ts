import {
  decideSagaRun,
  type SagaAnswer,
  type SagaOptions,
  type SagaStep,
} from '../domain/fulfillment-saga.js';
import type { OrderStore } from '../domain/order-store.js';

/**
 * Applies a run of answers from inventory and payment to the orders they name, in one
 * transaction, with the same two statements however many there are: every order is locked and
 * loaded at once, each step is decided in memory in the run's order (`decideSagaRun`), and all
 * changes are stored together. An answer for an order that does not exist fails the whole run
 * before anything is written. Returns one step per answer; the caller publishes each advanced
 * step's event in the same transaction.
 */
export async function advanceSagas(
  store: Pick<OrderStore, 'lockForSaga' | 'saveChanges'>,
  answers: readonly SagaAnswer[],
  at: Date,
  options?: SagaOptions,
): Promise<readonly SagaStep[]> {
  const orders = await store.lockForSaga([...new Set(answers.map((a) => a.orderId))]);
  const { steps, changes } = decideSagaRun(orders, answers, at, options);
  await store.saveChanges(changes);
  return steps;
}
