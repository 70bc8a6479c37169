import { orderNotCancellable } from './order-errors.js';
import type { Order } from './order.js';

/**
 * A customer cancelling their own order (CancelOrder), outside the saga's answers:
 * - PENDING or STOCK_RESERVED: the saga stops. The order is CANCELLED (CUSTOMER_REQUESTED) and
 *   OrderCancelled makes inventory release what it reserved (or record a tombstone, so a late
 *   OrderPlaced reserves nothing) and payment refund a capture that raced the cancellation (or
 *   record a void, so a PaymentRequested still in flight is never charged).
 * - CONFIRMED, within `windowMs` of its confirmation: the same OrderCancelled, now with the
 *   confirmation time: payment refunds the capture and inventory takes the sold units back.
 *   Later: ORDER_NOT_CANCELLABLE.
 * - CANCELLED (for any reason): nothing changes; the caller answers the order as it is,
 *   `replayed` when this very request (its idempotency key) cancelled it.
 */
export type CustomerCancellation =
  | { readonly kind: 'cancelled'; readonly order: Order }
  | { readonly kind: 'unchanged'; readonly order: Order; readonly replayed: boolean };

export interface CancelRequest {
  readonly idempotencyKey: string;
  /** How long after its confirmation a confirmed order may still be cancelled. */
  readonly windowMs: number;
}

/** When the order was confirmed, if it was (its history's CONFIRMED entry). */
export function confirmedAt(order: Order): Date | undefined {
  return order.history.find((change) => change.status === 'CONFIRMED')?.at;
}

export function decideCustomerCancellation(
  order: Order,
  request: CancelRequest,
  at: Date,
): CustomerCancellation {
  if (order.status === 'CANCELLED') {
    return {
      kind: 'unchanged',
      order,
      replayed: order.cancelRequestKey === request.idempotencyKey,
    };
  }
  if (order.status === 'CONFIRMED') {
    const confirmed = confirmedAt(order) ?? order.placedAt;
    if (at.getTime() - confirmed.getTime() > request.windowMs)
      throw orderNotCancellable(order.id, `it was confirmed more than ${request.windowMs} ms ago`);
  }
  return {
    kind: 'cancelled',
    order: {
      ...order,
      status: 'CANCELLED',
      cancellationReason: 'CUSTOMER_REQUESTED',
      cancelRequestKey: request.idempotencyKey,
      history: [...order.history, { status: 'CANCELLED', at }],
    },
  };
}
