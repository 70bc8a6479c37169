/**
 * The port to whoever moves the money. `Tx` is the caller's open transaction: a provider that
 * keeps its records in the payment database (the simulated one) writes them in it, so the
 * provider's ledger and the payment row commit or roll back together. A remote provider would
 * ignore it and rely on `idempotencyKey` instead (a retried charge with the same key must not
 * charge twice).
 */
export interface ProviderChargeRequest {
  readonly orderId: string;
  /** Whose money it is; also who rollouts of a new provider target. */
  readonly customerId: string;
  readonly amountCents: bigint;
  /** Opaque to Orderly; never logged. */
  readonly paymentMethod: string;
  readonly idempotencyKey: string;
}

export type ProviderChargeResult =
  | { readonly outcome: 'captured'; readonly providerRef: string }
  | { readonly outcome: 'declined'; readonly reason: string }
  /** The provider could not be reached or refused to work; nothing was charged. */
  | { readonly outcome: 'unavailable'; readonly reason: string };

export interface ProviderRefundRequest {
  /** The reference of the capture being returned. */
  readonly providerRef: string;
  readonly amountCents: bigint;
  readonly idempotencyKey: string;
}

export interface PaymentProvider<Tx> {
  charge(request: ProviderChargeRequest, tx: Tx): Promise<ProviderChargeResult>;
  refund(request: ProviderRefundRequest, tx: Tx): Promise<void>;
}

/**
 * The provider as a use case calls it: bound to the caller's open transaction (see
 * `PaymentProvider`), and safe to call several times at once.
 */
export interface ProviderSession {
  charge(request: ProviderChargeRequest): Promise<ProviderChargeResult>;
  refund(request: ProviderRefundRequest): Promise<void>;
}

/** A charge is made at most once per order: the order id is the idempotency key. */
export const chargeIdempotencyKey = (orderId: string): string => orderId;
export const refundIdempotencyKey = (orderId: string): string => `${orderId}:refund`;
