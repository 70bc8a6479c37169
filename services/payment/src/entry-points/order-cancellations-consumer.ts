import { OrderCancelledSchema } from '@orderly/order-contract/order_events';
import { OrderCancelledSchema as OrderCancelledV2Schema } from '@orderly/order-contract/v2/order_events';
import { onBatchOf, type EventHandler, type Logger } from '@orderly/platform';
import { PaymentRefundedSchema } from '@orderly/payment-contract/payment_events';
import { paymentStore } from '../data-access/payment-store.js';
import { providerSession } from '../data-access/provider-session.js';
import { refundPayment, type Compensation } from '../use-cases/refund-payment.js';
import type { PaymentConsumerDeps } from './payment-requests-consumer.js';

/**
 * `payment.refunds`: compensates each cancelled order (refundPayment: refund a capture, or void so
 * nothing is charged later), a run of cancellations (consecutive ones of a batch) at a time, then
 * writes every PaymentRefunded with one statement. A refund that fails fails the run, of which
 * nothing is kept; the cancellations are delivered again.
 */
export function orderCancellationsHandlers(deps: PaymentConsumerDeps): EventHandler[] {
  // Both versions in one run: an event published in both has one event id (applied once).
  return onBatchOf([OrderCancelledSchema, OrderCancelledV2Schema] as const, async (tx, items) => {
    const compensations = await refundPayment(
      paymentStore(tx),
      providerSession(deps.provider, tx),
      items.map(({ event }) => event.orderId),
      deps.clock(),
      deps.providerConcurrency(),
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

    compensations.forEach((c, index) => items[index]!.inTrace(() => logCompensation(deps.log, c)));
  });
}

function logCompensation(log: Logger, c: Compensation): void {
  if (c.kind === 'refund') {
    log.info({ orderId: c.orderId, paymentId: c.paymentId }, 'payment refunded');
  } else if (c.kind === 'void') {
    log.info(
      { orderId: c.payment.orderId, paymentId: c.payment.paymentId },
      'payment voided before any charge',
    );
  } else {
    log.info({ orderId: c.orderId, status: c.status }, 'order cancelled, nothing to refund');
  }
}
