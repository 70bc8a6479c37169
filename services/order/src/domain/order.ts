import { illegalTransition } from './order-errors.js';
import type { OrderRequest } from './order-request.js';

/**
 * The order aggregate and its saga state machine:
 * PENDING → STOCK_RESERVED → CONFIRMED, and PENDING | STOCK_RESERVED → CANCELLED (with a reason).
 * Outside the saga, the customer may also cancel a CONFIRMED order (CUSTOMER_REQUESTED, see
 * customer-cancellation.ts): its payment is refunded and its units return.
 * Money is integer minor units (cents) as `bigint`, as in inventory and the contracts.
 */
export type OrderStatus = 'PENDING' | 'STOCK_RESERVED' | 'CONFIRMED' | 'CANCELLED';
export type CancellationReason =
  'OUT_OF_STOCK' | 'PAYMENT_DECLINED' | 'TIMED_OUT' | 'CUSTOMER_REQUESTED' | 'RISK_REJECTED';

/**
 * Where a reserved order stands with the risk step (services.order.riskAssessment): assessment
 * asked (no payment before the answer), held for review (exempt from the saga timeout), approved.
 */
export type RiskReview = 'AWAITING' | 'HELD' | 'APPROVED';

/** A line as the customer asked for it, and later as inventory priced it. */
export interface OrderLine {
  readonly sku: string;
  readonly quantity: number;
  /** Known once inventory priced the reservation. */
  readonly unitPriceCents?: bigint;
}

export interface StatusChange {
  readonly status: OrderStatus;
  readonly at: Date;
}

export interface Order {
  readonly id: string;
  readonly customerId: string;
  readonly status: OrderStatus;
  readonly lines: readonly OrderLine[];
  readonly totalCents: bigint;
  /** ISO 4217 code of `totalCents` and the unit prices; '' until reserved when placed without one. */
  readonly currency: string;
  readonly paymentMethod: string;
  readonly reservationId: string | undefined;
  readonly cancellationReason: CancellationReason | undefined;
  readonly placedAt: Date;
  readonly history: readonly StatusChange[];
  /** The idempotency key of the customer's cancel request that cancelled the order, if one did. */
  readonly cancelRequestKey?: string | undefined;
  /** Absent when risk never assessed the order. */
  readonly riskReview?: RiskReview | undefined;
  /** When a review released the order: its saga timeout counts from then, not from placement. */
  readonly riskReleasedAt?: Date | undefined;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Order ids are UUIDs (in any case): anything else names no order. */
export function isOrderId(value: string): boolean {
  return uuidPattern.test(value);
}

/** The order a request creates: PENDING, unpriced, with its lines as the customer gave them. */
export function newPendingOrder(request: OrderRequest, id: string, now: Date): Order {
  return {
    id,
    customerId: request.customerId,
    status: 'PENDING',
    lines: request.lines,
    totalCents: 0n,
    currency: request.currency ?? '',
    paymentMethod: request.paymentMethod,
    reservationId: undefined,
    cancellationReason: undefined,
    placedAt: now,
    history: [{ status: 'PENDING', at: now }],
  };
}

const legalTransitions: Readonly<Record<OrderStatus, readonly OrderStatus[]>> = {
  PENDING: ['STOCK_RESERVED', 'CANCELLED'],
  STOCK_RESERVED: ['CONFIRMED', 'CANCELLED'],
  CONFIRMED: [],
  CANCELLED: [],
};

export function isTerminal(status: OrderStatus): boolean {
  return legalTransitions[status].length === 0;
}

export function canTransition(from: OrderStatus, to: OrderStatus): boolean {
  return legalTransitions[from].includes(to);
}

/** Returns the order in its new state with the change appended to its history. */
export function transition(
  order: Order,
  to: OrderStatus,
  at: Date,
  changes: Partial<
    Pick<Order, 'lines' | 'totalCents' | 'currency' | 'reservationId' | 'cancellationReason'>
  > = {},
): Order {
  if (!canTransition(order.status, to)) throw illegalTransition(order.id, order.status, to);
  return { ...order, ...changes, status: to, history: [...order.history, { status: to, at }] };
}

export function cancel(order: Order, reason: CancellationReason, at: Date): Order {
  return transition(order, 'CANCELLED', at, { cancellationReason: reason });
}
