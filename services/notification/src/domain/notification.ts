/** What the customer is told: one message per order, when the order reaches a terminal state. */
export type NotificationKind = 'ORDER_CONFIRMED' | 'ORDER_CANCELLED';

/** Why an order was cancelled, in the notification service's words. */
export type CancellationCause =
  | 'OUT_OF_STOCK'
  | 'PAYMENT_DECLINED'
  | 'TIMED_OUT'
  | 'CUSTOMER_REQUESTED'
  | 'RISK_REJECTED'
  | 'UNSPECIFIED';

export interface CustomerMessage {
  readonly notificationId: string;
  readonly orderId: string;
  readonly customerId: string;
  readonly kind: NotificationKind;
  readonly text: string;
}

/** An order's terminal state, as the customer's message needs it. */
export type OrderOutcome =
  | {
      readonly kind: 'ORDER_CONFIRMED';
      readonly orderId: string;
      readonly customerId: string;
      readonly totalCents: bigint;
    }
  | {
      readonly kind: 'ORDER_CANCELLED';
      readonly orderId: string;
      readonly customerId: string;
      readonly cause: CancellationCause;
    };
