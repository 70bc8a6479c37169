import { randomUUID } from 'node:crypto';
import { PaymentRequestedSchema } from '@orderly/order-contract/order_events';
import {
  onBatch,
  type EventHandler,
  type Logger,
  type Outbox,
  type PreparedEvent,
  type Sql,
} from '@orderly/platform';
import {
  FailureReason,
  PaymentFailedSchema,
  PaymentSucceededSchema,
} from '@orderly/payment-contract/payment_events';
import type { Payment } from '../domain/payment.js';
import { assertChargeable, chargesOfRun, decideCharge } from '../domain/payment-decisions.js';
import {
  chargeIdempotencyKey,
  type PaymentProvider,
  type ProviderChargeResult,
} from '../domain/payment-provider.js';
import { paymentRepository } from '../data-access/payment-repository.js';
import { callEach } from './provider-calls.js';

export interface PaymentConsumerDeps {
  readonly outbox: Outbox;
  readonly provider: PaymentProvider<Sql>;
  readonly log: Logger;
  readonly clock: () => Date;
  /** Provider calls of one run in flight at once (services.payment.providerConcurrency). */
  readonly providerConcurrency: () => number;
}

/** What became of one PaymentRequested, for its log line. */
type ChargeAnswer =
  | { readonly kind: 'already-answered'; readonly status: Payment['status'] }
  | { readonly kind: 'refused' }
  | { readonly kind: 'charged'; readonly payment: Payment; readonly result: ProviderChargeResult };

/**
 * `payment.charge`: answers each order's PaymentRequested once, charging at most once per order.
 * A run of requests (consecutive ones of a batch) locks and reads all their orders' payment records
 * with one statement each, calls the provider for the new charges (a few at a time), then records
 * every payment with one statement and every answer with one more.
 */
export function paymentRequestsHandlers(deps: PaymentConsumerDeps): EventHandler[] {
  return [
    onBatch(PaymentRequestedSchema, async (tx, items) => {
      const requests = items.map(({ event }) => {
        const request = {
          orderId: event.orderId,
          customerId: event.customerId,
          amountCents: event.amountCents,
          paymentMethod: event.paymentMethod,
        };
        assertChargeable(request);
        return request;
      });
      const orderIds = requests.map((r) => r.orderId);
      await paymentRepository.lockOrders(tx, orderIds);
      const existing = await paymentRepository.find(tx, orderIds);
      const charges = chargesOfRun(existing, requests);
      const results = await callEach(
        tx,
        charges,
        (request, shared) =>
          deps.provider.charge(
            { ...request, idempotencyKey: chargeIdempotencyKey(request.orderId) },
            shared,
          ),
        deps.providerConcurrency(),
      );
      const resultOf = new Map(charges.map((request, index) => [request.orderId, results[index]]));

      // In delivery order, against the records as this run leaves them: a second request for an
      // order finds the payment the first one made.
      const records = new Map(existing);
      const payments: Payment[] = [];
      const events: PreparedEvent[] = [];
      const answers = requests.map((request, index): ChargeAnswer => {
        const { orderId } = request;
        const item = items[index]!;
        const decision = decideCharge(records.get(orderId));
        if (decision.action === 'already-answered') {
          return { kind: 'already-answered', status: decision.status };
        }
        if (decision.action === 'refuse') {
          events.push(
            item.inTrace(
              () =>
                deps.outbox.prepare(PaymentFailedSchema, {
                  orderId,
                  reason: FailureReason.ORDER_ALREADY_CANCELLED,
                }).prepared,
            ),
          );
          return { kind: 'refused' };
        }
        const result = resultOf.get(orderId);
        if (result === undefined) throw new Error(`no provider answer for order ${orderId}`);
        const payment: Payment = {
          orderId,
          paymentId: randomUUID(),
          status: result.outcome === 'captured' ? 'CAPTURED' : 'DECLINED',
          amountCents: request.amountCents,
          providerRef: result.outcome === 'captured' ? result.providerRef : null,
        };
        records.set(orderId, payment);
        payments.push(payment);
        events.push(
          item.inTrace(() =>
            result.outcome === 'captured'
              ? deps.outbox.prepare(PaymentSucceededSchema, {
                  orderId,
                  paymentId: payment.paymentId,
                  amountCents: request.amountCents,
                }).prepared
              : deps.outbox.prepare(PaymentFailedSchema, {
                  orderId,
                  // An unreachable provider is an answer too: the order must not wait for a saga timeout.
                  reason:
                    result.outcome === 'unavailable'
                      ? FailureReason.PROVIDER_UNAVAILABLE
                      : FailureReason.DECLINED,
                }).prepared,
          ),
        );
        return { kind: 'charged', payment, result };
      });
      await paymentRepository.insert(tx, payments, deps.clock());
      await deps.outbox.addPrepared(tx, events);

      answers.forEach((answer, index) =>
        items[index]!.inTrace(() => logAnswer(deps.log, requests[index]!.orderId, answer)),
      );
    }),
  ];
}

function logAnswer(log: Logger, orderId: string, answer: ChargeAnswer): void {
  switch (answer.kind) {
    case 'already-answered':
      log.info({ orderId, status: answer.status }, 'payment already answered, request ignored');
      return;
    case 'refused':
      log.info({ orderId }, 'payment refused, order already cancelled');
      return;
    case 'charged': {
      const { payment, result } = answer;
      if (result.outcome === 'captured') {
        log.info({ orderId, paymentId: payment.paymentId }, 'payment captured');
        return;
      }
      log.info(
        {
          orderId,
          paymentId: payment.paymentId,
          declineReason: result.reason,
          outcome: result.outcome,
        },
        'payment declined',
      );
    }
  }
}
