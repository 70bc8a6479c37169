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

/** One answer of a run: the order it is about and the step it takes from the order's state. */
export interface SagaAnswer {
  readonly orderId: string;
  /** What answered (the event's name, or `saga timeout`), for errors. */
  readonly answer: string;
  readonly decide: (order: Order) => SagaStep;
  /** Runs `work` in this answer's trace context, so the event it publishes continues that trace. */
  readonly inTrace?: <T>(work: () => T) => T;
}

/**
 * Applies a run of answers, in one transaction, with the same few statements however many there
 * are: every order they name is locked and loaded at once, each step is decided in memory in the
 * run's order (a second answer for an order sees the first one's result, exactly as if they were
 * applied one after the other), then all changes and all events are written with one statement
 * each. An answer for an order that does not exist fails the whole run before anything is written
 * (the consumer then applies each event of the batch alone, so only that one fails).
 */
export async function advanceSagas(
  store: OrderStore,
  answers: readonly SagaAnswer[],
): Promise<SagaStep[]> {
  const orders = await store.lockForSaga([...new Set(answers.map((a) => a.orderId))]);
  return applySteps(store, orders, answers);
}

/** Decides each answer against the orders' latest state and writes the outcome; `loaded` are locked. */
async function applySteps(
  store: OrderStore,
  loaded: ReadonlyMap<string, Order>,
  answers: readonly SagaAnswer[],
): Promise<SagaStep[]> {
  const latest = new Map(loaded);
  const steps: SagaStep[] = [];
  const events: ReturnType<OrderStore['prepare']>[] = [];
  for (const answer of answers) {
    const order = latest.get(answer.orderId);
    if (!order) throw eventForUnknownOrder(answer.orderId, answer.answer);
    const step = answer.decide(order);
    steps.push(step);
    if (step.kind === 'ignored') continue;
    latest.set(answer.orderId, step.order);
    const prepare = () => store.prepare(step.order, step.publish);
    events.push(answer.inTrace ? answer.inTrace(prepare) : prepare());
  }
  const changes = [...latest].flatMap(([orderId, after]) => {
    const before = loaded.get(orderId);
    return before && before !== after ? [{ before, after }] : [];
  });
  await store.saveChanges(changes);
  await store.publish(events);
  return steps;
}

/** Cancels up to `limit` sagas that have been open longer than `timeoutMs`; returns their ids. */
export async function cancelTimedOutSagas(
  deps: OrderDeps,
  timeoutMs: number,
  limit: number,
): Promise<string[]> {
  const now = deps.clock();
  return deps.transaction(async (store) => {
    const orders = await store.lockTimedOut(new Date(now.getTime() - timeoutMs), limit);
    await applySteps(
      store,
      new Map(orders.map((order) => [order.id, order])),
      orders.map((order) => ({
        orderId: order.id,
        answer: 'saga timeout',
        decide: (current) => onSagaTimedOut(current, now),
      })),
    );
    return orders.map((order) => order.id);
  });
}
