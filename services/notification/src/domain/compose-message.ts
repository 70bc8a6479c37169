import type { CancellationCause } from './notification.js';

const causeText: Record<CancellationCause, string> = {
  OUT_OF_STOCK: 'an item in it is out of stock',
  PAYMENT_DECLINED: 'the payment was declined',
  TIMED_OUT: 'it could not be completed in time',
  CUSTOMER_REQUESTED: 'you asked us to cancel it',
  RISK_REJECTED: 'our checks could not approve it',
  UNSPECIFIED: 'it could not be completed',
};

/** `1234n` → `12.34`. */
export function formatCents(cents: bigint): string {
  const sign = cents < 0n ? '-' : '';
  const magnitude = cents < 0n ? -cents : cents;
  return `${sign}${magnitude / 100n}.${(magnitude % 100n).toString().padStart(2, '0')}`;
}

/** The text of the customer message for an order's terminal state. */
export function composeMessage(
  kind: 'ORDER_CONFIRMED',
  orderId: string,
  totalCents: bigint,
): string;
export function composeMessage(
  kind: 'ORDER_CANCELLED',
  orderId: string,
  reason: CancellationCause,
): string;
export function composeMessage(
  kind: 'ORDER_CONFIRMED' | 'ORDER_CANCELLED',
  orderId: string,
  detail: bigint | CancellationCause,
): string {
  if (kind === 'ORDER_CONFIRMED') {
    return `Your order ${orderId} is confirmed. Total charged: ${formatCents(detail as bigint)}.`;
  }
  return `Your order ${orderId} was cancelled because ${causeText[detail as CancellationCause]}. Any payment taken for it is refunded.`;
}
