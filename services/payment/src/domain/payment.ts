/**
 * The one payment record an order can have. Its status says how the order's payment question was
 * answered: CAPTURED (money taken), DECLINED (charge refused), REFUNDED (captured, then returned
 * because the order was cancelled) or VOIDED (the order was cancelled before any charge, so none
 * will ever be made).
 */
export type PaymentStatus = 'CAPTURED' | 'DECLINED' | 'REFUNDED' | 'VOIDED';

export interface Payment {
  readonly orderId: string;
  readonly paymentId: string;
  readonly status: PaymentStatus;
  readonly amountCents: bigint;
  /** The provider's reference of the capture; set for CAPTURED and REFUNDED only. */
  readonly providerRef: string | null;
}

export interface ChargeRequest {
  readonly orderId: string;
  readonly amountCents: bigint;
  readonly paymentMethod: string;
}
