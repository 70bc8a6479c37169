import { eventForUnknownOrder } from './order-errors.js';
import { cancel, isTerminal, transition, type Order } from './order.js';
import type { OrderDeps, OrderStore } from './order-store.js';

/**
 * What the saga does when an answer arrives. Each step returns the order's next state and the
 * event to publish, or `ignored` when the order has already ended (a late or repeated answer):
 * compensation for those is driven by OrderCancelled, which inventory and payment act on.
 */
export type SagaStep =
  | { readonly kind: 'ignored'; readonly why: string }
  | { readonly kind: 'advanced'; readonly order: Order; readonly publish: SagaEvent };

export type SagaEvent = 'PaymentRequested' | 'OrderConfirmed' | 'OrderCancelled';

export interface ReservedStock {
  readonly reservationId: string;
  readonly lines: readonly { sku: string; quantity: number; unitPriceCents: number }[];
  readonly totalCents: number;
}

function ignoredUnlessExpected(order: Order, expected: Order['status']): SagaStep | undefined {
  if (order.status === expected) return undefined;
  return {
    kind: 'ignored',
    why: isTerminal(order.status)
      ? `order already ${order.status}`
      : `order is ${order.status}, not ${expected}`,
  };
}

export function onStockReserved(order: Order, stock: ReservedStock, at: Date): SagaStep {
  const skip = ignoredUnlessExpected(order, 'PENDING');
  if (skip) return skip;
  const next = transition(order, 'STOCK_RESERVED', at, {
    reservationId: stock.reservationId,
    totalCents: stock.totalCents,
    lines: stock.lines.map((l) => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPriceCents: l.unitPriceCents,
    })),
  });
  return { kind: 'advanced', order: next, publish: 'PaymentRequested' };
}

export function onStockRejected(order: Order, at: Date): SagaStep {
  const skip = ignoredUnlessExpected(order, 'PENDING');
  if (skip) return skip;
  return { kind: 'advanced', order: cancel(order, 'OUT_OF_STOCK', at), publish: 'OrderCancelled' };
}

export function onPaymentSucceeded(order: Order, at: Date): SagaStep {
  const skip = ignoredUnlessExpected(order, 'STOCK_RESERVED');
  if (skip) return skip;
  return { kind: 'advanced', order: transition(order, 'CONFIRMED', at), publish: 'OrderConfirmed' };
}

export function onPaymentFailed(order: Order, at: Date): SagaStep {
  const skip = ignoredUnlessExpected(order, 'STOCK_RESERVED');
  if (skip) return skip;
  return {
    kind: 'advanced',
    order: cancel(order, 'PAYMENT_DECLINED', at),
    publish: 'OrderCancelled',
  };
}

/** A saga that got no answer in time is cancelled; OrderCancelled releases stock and refunds. */
export function onSagaTimedOut(order: Order, at: Date): SagaStep {
  if (isTerminal(order.status)) return { kind: 'ignored', why: `order already ${order.status}` };
  return { kind: 'advanced', order: cancel(order, 'TIMED_OUT', at), publish: 'OrderCancelled' };
}

/** Applies one saga answer to an order, locked for the duration of the caller's transaction. */
export async function advanceSaga(
  store: OrderStore,
  orderId: string,
  answer: string,
  decide: (order: Order) => SagaStep,
): Promise<SagaStep> {
  const order = await store.find(orderId, { forUpdate: true });
  if (!order) throw eventForUnknownOrder(orderId, answer);
  const step = decide(order);
  if (step.kind === 'advanced') {
    await store.saveTransition(order, step.order);
    await store.publish(step.order, step.publish);
  }
  return step;
}

/** Cancels up to `limit` sagas that have been open longer than `timeoutMs`; returns their ids. */
export async function cancelTimedOutSagas(
  deps: OrderDeps,
  timeoutMs: number,
  limit: number,
): Promise<string[]> {
  const now = deps.clock();
  return deps.transaction(async (store) => {
    const ids = await store.lockTimedOut(new Date(now.getTime() - timeoutMs), limit);
    for (const id of ids)
      await advanceSaga(store, id, 'saga timeout', (order) => onSagaTimedOut(order, now));
    return ids;
  });
}
