import { eventForUnknownOrder } from './order-errors.js';
import { cancel, isTerminal, transition, type Order, type OrderLine } from './order.js';
import type { OrderChange, OrderEventKind } from './order-store.js';

/**
 * What the saga does when an answer arrives. Each step returns the order's next state and the
 * event to publish, or `ignored` when the order has already ended (a late or repeated answer):
 * compensation for those is driven by OrderCancelled, which inventory and payment act on.
 */
export type SagaStep =
  | { readonly kind: 'ignored'; readonly orderId: string; readonly why: string }
  | {
      readonly kind: 'advanced';
      readonly order: Order;
      /** Absent when the order changed without telling anyone (held for review). */
      readonly publish: SagaEvent | undefined;
    };

export type SagaEvent = Exclude<OrderEventKind, 'OrderPlaced'>;

/** A line as inventory reserved and priced it. */
export type PricedLine = OrderLine & { readonly unitPriceCents: bigint };

export interface ReservedStock {
  readonly reservationId: string;
  readonly lines: readonly PricedLine[];
  readonly totalCents: bigint;
  /** The currency inventory priced the lines in (the order's, when it named one). */
  readonly currency?: string;
}

export type RiskDecision = 'APPROVE' | 'REVIEW' | 'REJECT';

/** An answer the saga waits for (from inventory, risk or payment), or its own timeout. */
export type SagaAnswer =
  | ({ readonly kind: 'StockReserved'; readonly orderId: string } & ReservedStock)
  | { readonly kind: 'StockRejected'; readonly orderId: string }
  | { readonly kind: 'RiskAssessed'; readonly orderId: string; readonly decision: RiskDecision }
  | { readonly kind: 'PaymentSucceeded'; readonly orderId: string }
  | { readonly kind: 'PaymentFailed'; readonly orderId: string }
  | { readonly kind: 'SagaTimedOut'; readonly orderId: string };

function ignoredUnlessExpected(order: Order, expected: Order['status']): SagaStep | undefined {
  if (order.status === expected) return undefined;
  return {
    kind: 'ignored',
    orderId: order.id,
    why: isTerminal(order.status)
      ? `order already ${order.status}`
      : `order is ${order.status}, not ${expected}`,
  };
}

/** How the saga runs: with the risk step, no payment is requested before risk approves. */
export interface SagaOptions {
  readonly riskAssessment: boolean;
}

export function onStockReserved(
  order: Order,
  stock: ReservedStock,
  at: Date,
  options: SagaOptions = { riskAssessment: false },
): SagaStep {
  const skip = ignoredUnlessExpected(order, 'PENDING');
  if (skip) return skip;
  const next = transition(order, 'STOCK_RESERVED', at, {
    reservationId: stock.reservationId,
    totalCents: stock.totalCents,
    currency: stock.currency || order.currency,
    lines: stock.lines,
  });
  if (!options.riskAssessment)
    return { kind: 'advanced', order: next, publish: 'PaymentRequested' };
  return {
    kind: 'advanced',
    order: { ...next, riskReview: 'AWAITING' },
    publish: 'RiskAssessmentRequested',
  };
}

/**
 * Risk's answer for a reserved order awaiting it (or held for review): APPROVE requests the
 * payment, REJECT cancels (RISK_REJECTED: OrderCancelled releases the stock, nothing was charged),
 * REVIEW holds the order, exempt from the saga timeout, until risk's final answer. Anything else
 * (a repeated answer, one for an order already paid for or cancelled) is ignored.
 */
export function onRiskAssessed(order: Order, decision: RiskDecision, at: Date): SagaStep {
  const skip = ignoredUnlessExpected(order, 'STOCK_RESERVED');
  if (skip) return skip;
  const awaiting = order.riskReview === 'AWAITING';
  const held = order.riskReview === 'HELD';
  if (!awaiting && !held) {
    return {
      kind: 'ignored',
      orderId: order.id,
      why: order.riskReview ? `risk already ${order.riskReview}` : 'no assessment was requested',
    };
  }
  switch (decision) {
    case 'APPROVE':
      return {
        kind: 'advanced',
        order: { ...order, riskReview: 'APPROVED', ...(held ? { riskReleasedAt: at } : {}) },
        publish: 'PaymentRequested',
      };
    case 'REJECT':
      // The cancellation reason says it all; no risk state is left pending.
      return {
        kind: 'advanced',
        order: { ...cancel(order, 'RISK_REJECTED', at), riskReview: undefined },
        publish: 'OrderCancelled',
      };
    case 'REVIEW':
      if (held) return { kind: 'ignored', orderId: order.id, why: 'already held for review' };
      return { kind: 'advanced', order: { ...order, riskReview: 'HELD' }, publish: undefined };
  }
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

/**
 * A saga that got no answer in time is cancelled; OrderCancelled releases stock and refunds. An
 * order held for review is exempt: risk's review timeout decides it.
 */
export function onSagaTimedOut(order: Order, at: Date): SagaStep {
  if (isTerminal(order.status)) {
    return { kind: 'ignored', orderId: order.id, why: `order already ${order.status}` };
  }
  if (order.riskReview === 'HELD') {
    return { kind: 'ignored', orderId: order.id, why: 'held for review' };
  }
  return { kind: 'advanced', order: cancel(order, 'TIMED_OUT', at), publish: 'OrderCancelled' };
}

/** The step an answer takes from the order's current state. */
function decideSagaStep(
  order: Order,
  answer: SagaAnswer,
  at: Date,
  options: SagaOptions | undefined,
): SagaStep {
  switch (answer.kind) {
    case 'StockReserved':
      return onStockReserved(order, answer, at, options);
    case 'StockRejected':
      return onStockRejected(order, at);
    case 'RiskAssessed':
      return onRiskAssessed(order, answer.decision, at);
    case 'PaymentSucceeded':
      return onPaymentSucceeded(order, at);
    case 'PaymentFailed':
      return onPaymentFailed(order, at);
    case 'SagaTimedOut':
      return onSagaTimedOut(order, at);
  }
}

/** A run of answers decided: one step per answer, and the orders that changed. */
export interface SagaRun {
  readonly steps: readonly SagaStep[];
  readonly changes: readonly OrderChange[];
}

/**
 * Decides a run of answers against `loaded` (the orders they name, locked), in the run's order: a
 * second answer for an order sees the first one's result, exactly as if they were applied one
 * after the other. An answer for an order that is not loaded fails the whole run.
 */
export function decideSagaRun(
  loaded: ReadonlyMap<string, Order>,
  answers: readonly SagaAnswer[],
  at: Date,
  options?: SagaOptions,
): SagaRun {
  const latest = new Map(loaded);
  const steps = answers.map((answer) => {
    const order = latest.get(answer.orderId);
    if (!order) {
      const what = answer.kind === 'SagaTimedOut' ? 'saga timeout' : answer.kind;
      throw eventForUnknownOrder(answer.orderId, what);
    }
    const step = decideSagaStep(order, answer, at, options);
    if (step.kind === 'advanced') latest.set(answer.orderId, step.order);
    return step;
  });
  const changes = [...latest].flatMap(([orderId, after]) => {
    const before = loaded.get(orderId);
    return before && before !== after ? [{ before, after }] : [];
  });
  return { steps, changes };
}
