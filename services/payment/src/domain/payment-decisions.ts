import type { ChargeRequest, Payment, PaymentStatus } from './payment.js';
import { paymentRequestInvalid } from './payment-errors.js';

/**
 * What to do with a PaymentRequested, given the order's payment record (if any).
 * - no record: charge.
 * - CAPTURED / DECLINED / REFUNDED: the request was already answered; do nothing (a second
 *   request with another event id must not charge again).
 * - VOIDED: the order was cancelled first; answer PaymentFailed(ORDER_ALREADY_CANCELLED) without
 *   charging. Every such request is answered again, which is harmless: the order is terminal.
 */
export type ChargeDecision =
  | { readonly action: 'charge' }
  | { readonly action: 'already-answered'; readonly status: PaymentStatus }
  | { readonly action: 'refuse'; readonly reason: 'ORDER_ALREADY_CANCELLED' };

export function decideCharge(existing: Payment | undefined): ChargeDecision {
  if (existing === undefined) return { action: 'charge' };
  if (existing.status === 'VOIDED') return { action: 'refuse', reason: 'ORDER_ALREADY_CANCELLED' };
  return { action: 'already-answered', status: existing.status };
}

/**
 * What to do with an OrderCancelled, given the order's payment record (if any).
 * - CAPTURED: refund the capture (status REFUNDED).
 * - no record: record a void, so a PaymentRequested that arrives later never charges.
 * - DECLINED / REFUNDED / VOIDED: nothing was taken or it was already returned; nothing to do.
 */
export type CancellationDecision =
  | { readonly action: 'refund'; readonly providerRef: string; readonly amountCents: bigint }
  | { readonly action: 'void' }
  | { readonly action: 'nothing'; readonly status: PaymentStatus };

export function decideOnCancellation(existing: Payment | undefined): CancellationDecision {
  if (existing === undefined) return { action: 'void' };
  if (existing.status === 'CAPTURED' && existing.providerRef !== null) {
    return {
      action: 'refund',
      providerRef: existing.providerRef,
      amountCents: existing.amountCents,
    };
  }
  return { action: 'nothing', status: existing.status };
}

/** Refuses requests that no retry can make chargeable. */
export function assertChargeable(request: ChargeRequest): void {
  if (request.orderId === '') throw paymentRequestInvalid(request.orderId, 'order id is empty');
  if (request.amountCents <= 0n)
    throw paymentRequestInvalid(request.orderId, 'amount must be positive');
}

/**
 * The requests of a run (in delivery order) that are charged: the first one for each order that
 * has no payment record. Every later request for that order finds the record the charge left
 * (CAPTURED or DECLINED) and is already answered, exactly as if they were applied one by one.
 */
export function chargesOfRun<Request extends { readonly orderId: string }>(
  existing: ReadonlyMap<string, Payment>,
  requests: readonly Request[],
): Request[] {
  const seen = new Set<string>();
  return requests.filter((request) => {
    if (seen.has(request.orderId)) return false;
    seen.add(request.orderId);
    return decideCharge(existing.get(request.orderId)).action === 'charge';
  });
}
