import { randomUUID } from 'node:crypto';
import type { ChargeRequest, Payment, PaymentStatus } from '../domain/payment.js';
import { assertChargeable, chargesOfRun, decideCharge } from '../domain/payment-decisions.js';
import {
  chargeIdempotencyKey,
  type ProviderChargeResult,
  type ProviderSession,
} from '../domain/payment-provider.js';
import type { PaymentStore } from '../domain/payment-store.js';
import { callEach } from '../domain/provider-calls.js';

export type ChargePaymentStore = Pick<
  PaymentStore,
  'lockOrders' | 'findPayments' | 'insertPayments'
>;

/** One PaymentRequested. */
export interface PaymentRequest extends ChargeRequest {
  /** Whose money it is; also who rollouts of a new provider target. */
  readonly customerId: string;
}

/** What became of one request of the run. */
export type ChargeOutcome =
  /** The order's payment question was answered before: nothing written, nothing to answer. */
  | { readonly kind: 'already-answered'; readonly orderId: string; readonly status: PaymentStatus }
  /** The order was cancelled before any charge: answered as failed, nothing charged. */
  | {
      readonly kind: 'refused';
      readonly orderId: string;
      readonly reason: 'ORDER_ALREADY_CANCELLED';
    }
  /**
   * The provider was asked: `payment` is CAPTURED, or DECLINED when the provider declined or could
   * not be reached (`result` says which).
   */
  | { readonly kind: 'charged'; readonly payment: Payment; readonly result: ProviderChargeResult };

/**
 * Answers each order's PaymentRequested once, charging at most once per order. The run's orders
 * are locked and their payment records read (one statement each), the provider is asked for the
 * new charges (`providerConcurrency` calls at a time), and every new payment is recorded with one
 * statement. Returns one outcome per request, in request order.
 *
 * Throws PAYMENT_REQUEST_INVALID, before anything is read, for a request that no retry can make
 * chargeable.
 */
export async function chargePayment(
  store: ChargePaymentStore,
  provider: ProviderSession,
  requests: readonly PaymentRequest[],
  now: Date,
  providerConcurrency: number,
): Promise<ChargeOutcome[]> {
  for (const request of requests) assertChargeable(request);
  const orderIds = requests.map((r) => r.orderId);
  await store.lockOrders(orderIds);
  const existing = await store.findPayments(orderIds);
  const charges = chargesOfRun(existing, requests);
  const results = await callEach(
    charges,
    (request) =>
      provider.charge({
        orderId: request.orderId,
        customerId: request.customerId,
        amountCents: request.amountCents,
        paymentMethod: request.paymentMethod,
        idempotencyKey: chargeIdempotencyKey(request.orderId),
      }),
    providerConcurrency,
  );
  const resultOf = new Map(charges.map((request, index) => [request.orderId, results[index]]));

  // In delivery order, against the records as this run leaves them: a second request for an
  // order finds the payment the first one made.
  const records = new Map(existing);
  const payments: Payment[] = [];
  const outcomes = requests.map((request): ChargeOutcome => {
    const { orderId } = request;
    const decision = decideCharge(records.get(orderId));
    if (decision.action === 'already-answered') {
      return { kind: 'already-answered', orderId, status: decision.status };
    }
    if (decision.action === 'refuse') return { kind: 'refused', orderId, reason: decision.reason };
    const result = resultOf.get(orderId);
    if (result === undefined) throw new Error(`no provider answer for order ${orderId}`);
    const payment: Payment = {
      orderId,
      paymentId: randomUUID(),
      // An unreachable provider is an answer too: the order must not wait for a saga timeout.
      status: result.outcome === 'captured' ? 'CAPTURED' : 'DECLINED',
      amountCents: request.amountCents,
      providerRef: result.outcome === 'captured' ? result.providerRef : null,
    };
    records.set(orderId, payment);
    payments.push(payment);
    return { kind: 'charged', payment, result };
  });
  await store.insertPayments(payments, now);
  return outcomes;
}
