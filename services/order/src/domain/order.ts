import { illegalTransition } from './order-errors.js';

/**
 * The order aggregate and its saga state machine:
 * PENDING → STOCK_RESERVED → CONFIRMED, and PENDING | STOCK_RESERVED → CANCELLED (with a reason).
 */
export type OrderStatus = 'PENDING' | 'STOCK_RESERVED' | 'CONFIRMED' | 'CANCELLED';
export type CancellationReason = 'OUT_OF_STOCK' | 'PAYMENT_DECLINED' | 'TIMED_OUT';

export interface OrderLine {
  readonly sku: string;
  readonly quantity: number;
  /** Known once inventory priced the reservation. */
  readonly unitPriceCents: number | undefined;
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
  readonly totalCents: number;
  readonly paymentMethod: string;
  readonly reservationId: string | undefined;
  readonly cancellationReason: CancellationReason | undefined;
  readonly placedAt: Date;
  readonly history: readonly StatusChange[];
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
    Pick<Order, 'lines' | 'totalCents' | 'reservationId' | 'cancellationReason'>
  > = {},
): Order {
  if (!canTransition(order.status, to)) throw illegalTransition(order.id, order.status, to);
  return { ...order, ...changes, status: to, history: [...order.history, { status: to, at }] };
}

export function cancel(order: Order, reason: CancellationReason, at: Date): Order {
  return transition(order, 'CANCELLED', at, { cancellationReason: reason });
}
