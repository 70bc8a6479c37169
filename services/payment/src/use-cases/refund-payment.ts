import { randomUUID } from 'node:crypto';
import type { Payment, PaymentStatus } from '../domain/payment.js';
import { decideOnCancellation } from '../domain/payment-decisions.js';
import { paymentCancellationInvalid } from '../domain/payment-errors.js';
import { refundIdempotencyKey, type ProviderSession } from '../domain/payment-provider.js';
import type { PaymentStore } from '../domain/payment-store.js';
import { callEach } from '../domain/provider-calls.js';

export type RefundPaymentStore = Pick<
  PaymentStore,
  'lockOrders' | 'findPayments' | 'recordCancellations'
>;

/** What one OrderCancelled did to the order's payment. */
export type Compensation =
  /** The capture was returned in full: the payment is REFUNDED. */
  | {
      readonly kind: 'refund';
      readonly orderId: string;
      readonly paymentId: string;
      readonly providerRef: string;
      readonly amountCents: bigint;
    }
  /** Nothing was charged yet: a VOIDED payment makes sure nothing ever will be. */
  | { readonly kind: 'void'; readonly payment: Payment }
  /** Nothing was taken, or it was returned already. */
  | { readonly kind: 'nothing'; readonly orderId: string; readonly status?: PaymentStatus };

/**
 * Compensates a run of cancelled orders: refunds each capture, or records a void so that nothing
 * is charged later. The run's orders are locked and their payment records read (one statement
 * each), the provider refunds (`providerConcurrency` calls at a time), and every refund and void is
 * recorded with one statement. Returns one compensation per order id, in the given order.
 *
 * A refund is never given up: when the provider refuses one or cannot be reached, the error is
 * thrown and nothing of the run is recorded, so the cancellation is delivered again (an
 * unreachable provider is waited for however long it takes). Throws PAYMENT_CANCELLATION_INVALID,
 * before anything is read, for an empty order id.
 */
export async function refundPayment(
  store: RefundPaymentStore,
  provider: ProviderSession,
  orderIds: readonly string[],
  now: Date,
  providerConcurrency: number,
): Promise<Compensation[]> {
  for (const orderId of orderIds) {
    if (orderId === '') throw paymentCancellationInvalid('order id is empty');
  }
  await store.lockOrders(orderIds);
  const records = new Map(await store.findPayments(orderIds));

  // In delivery order, against the records as this run leaves them: a second cancellation of
  // an order finds the refund or void of the first.
  const compensations = orderIds.map((orderId): Compensation => {
    const existing = records.get(orderId);
    const decision = decideOnCancellation(existing);
    if (decision.action === 'refund' && existing !== undefined) {
      records.set(orderId, { ...existing, status: 'REFUNDED' });
      return {
        kind: 'refund',
        orderId,
        paymentId: existing.paymentId,
        providerRef: decision.providerRef,
        amountCents: decision.amountCents,
      };
    }
    if (decision.action === 'void') {
      const payment: Payment = {
        orderId,
        paymentId: randomUUID(),
        status: 'VOIDED',
        amountCents: 0n,
        providerRef: null,
      };
      records.set(orderId, payment);
      return { kind: 'void', payment };
    }
    return { kind: 'nothing', orderId, status: existing?.status };
  });
  const refunds = compensations.flatMap((c) => (c.kind === 'refund' ? [c] : []));
  await callEach(
    refunds,
    (refund) =>
      provider.refund({
        providerRef: refund.providerRef,
        amountCents: refund.amountCents,
        idempotencyKey: refundIdempotencyKey(refund.orderId),
      }),
    providerConcurrency,
  );
  await store.recordCancellations(
    {
      refunded: refunds.map((refund) => refund.orderId),
      voided: compensations.flatMap((c) => (c.kind === 'void' ? [c.payment] : [])),
    },
    now,
  );
  return compensations;
}
