import { randomUUID } from 'node:crypto';
import { OrderCancelledSchema } from '@orderly/order-contract/order_events';
import { onBatch, type EventHandler } from '@orderly/platform';
import { PaymentRefundedSchema } from '@orderly/payment-contract/payment_events';
import type { Payment } from '../domain/payment.js';
import { decideOnCancellation } from '../domain/payment-decisions.js';
import { paymentCancellationInvalid } from '../domain/payment-errors.js';
import { refundIdempotencyKey } from '../domain/payment-provider.js';
import { paymentRepository } from '../data-access/payment-repository.js';
import { callEach } from './provider-calls.js';
import type { PaymentConsumerDeps } from './payment-requests-consumer.js';

/** What one OrderCancelled does to the order's payment. */
type Compensation =
  | {
      readonly kind: 'refund';
      readonly orderId: string;
      readonly paymentId: string;
      readonly providerRef: string;
      readonly amountCents: bigint;
    }
  | { readonly kind: 'void'; readonly payment: Payment }
  | { readonly kind: 'nothing'; readonly orderId: string; readonly status?: Payment['status'] };

/**
 * `payment.refunds`: compensates a cancelled order: refund a capture, or void so nothing is charged
 * later. A run of cancellations (consecutive ones of a batch) locks and reads all their orders'
 * payment records with one statement each, refunds through the provider (a few at a time), then
 * records every refund and void with one statement and every PaymentRefunded with one more. A
 * refund the provider refuses fails the run, which nothing of is kept.
 */
export function orderCancellationsHandlers(deps: PaymentConsumerDeps): EventHandler[] {
  return [
    onBatch(OrderCancelledSchema, async (tx, items) => {
      const orderIds = items.map(({ event }) => {
        if (event.orderId === '') throw paymentCancellationInvalid('order id is empty');
        return event.orderId;
      });
      await paymentRepository.lockOrders(tx, orderIds);
      const records = new Map(await paymentRepository.find(tx, orderIds));

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
        tx,
        refunds,
        (refund, shared) =>
          deps.provider.refund(
            {
              providerRef: refund.providerRef,
              amountCents: refund.amountCents,
              idempotencyKey: refundIdempotencyKey(refund.orderId),
            },
            shared,
          ),
        deps.providerConcurrency(),
      );
      await paymentRepository.recordCancellations(
        tx,
        {
          refunded: refunds.map((refund) => refund.orderId),
          voided: compensations.flatMap((c) => (c.kind === 'void' ? [c.payment] : [])),
        },
        deps.clock(),
      );
      await deps.outbox.addPrepared(
        tx,
        compensations.flatMap((c, index) =>
          c.kind === 'refund'
            ? [
                items[index]!.inTrace(
                  () =>
                    deps.outbox.prepare(PaymentRefundedSchema, {
                      orderId: c.orderId,
                      paymentId: c.paymentId,
                      amountCents: c.amountCents,
                    }).prepared,
                ),
              ]
            : [],
        ),
      );

      compensations.forEach((c, index) =>
        items[index]!.inTrace(() => {
          if (c.kind === 'refund') {
            deps.log.info({ orderId: c.orderId, paymentId: c.paymentId }, 'payment refunded');
          } else if (c.kind === 'void') {
            deps.log.info(
              { orderId: c.payment.orderId, paymentId: c.payment.paymentId },
              'payment voided before any charge',
            );
          } else {
            deps.log.info(
              { orderId: c.orderId, status: c.status },
              'order cancelled, nothing to refund',
            );
          }
        }),
      );
    }),
  ];
}
