import { randomUUID } from 'node:crypto';
import { OrderCancelledSchema } from '@orderly/order/contract/order_events';
import { on, type EventHandler } from '@orderly/platform';
import { PaymentRefundedSchema } from '../../gen/payment/v1/payment_events_pb.js';
import { decideOnCancellation } from '../domain/payment-decisions.js';
import { paymentCancellationInvalid } from '../domain/payment-errors.js';
import { refundIdempotencyKey } from '../domain/payment-provider.js';
import { paymentRepository } from '../data-access/payment-repository.js';
import type { PaymentConsumerDeps } from './payment-requests-consumer.js';

/** `payment.refunds`: compensates a cancelled order: refund a capture, or void so nothing is charged later. */
export function orderCancellationsHandlers(deps: PaymentConsumerDeps): EventHandler[] {
  return [
    on(OrderCancelledSchema, async (tx, event) => {
      const { orderId } = event;
      if (orderId === '') throw paymentCancellationInvalid('order id is empty');
      await paymentRepository.lockOrder(tx, orderId);
      const existing = await paymentRepository.find(tx, orderId);
      const decision = decideOnCancellation(existing);
      const now = deps.clock();
      if (decision.action === 'refund' && existing !== undefined) {
        await deps.provider.refund(
          {
            providerRef: decision.providerRef,
            amountCents: decision.amountCents,
            idempotencyKey: refundIdempotencyKey(orderId),
          },
          tx,
        );
        await paymentRepository.markRefunded(tx, orderId, now);
        await deps.outbox.add(tx, PaymentRefundedSchema, {
          orderId,
          paymentId: existing.paymentId,
          amountCents: decision.amountCents,
        });
        deps.log.info({ orderId, paymentId: existing.paymentId }, 'payment refunded');
        return;
      }
      if (decision.action === 'void') {
        const paymentId = randomUUID();
        await paymentRepository.insert(
          tx,
          { orderId, paymentId, status: 'VOIDED', amountCents: 0n, providerRef: null },
          now,
        );
        deps.log.info({ orderId, paymentId }, 'payment voided before any charge');
        return;
      }
      deps.log.info({ orderId, status: existing?.status }, 'order cancelled, nothing to refund');
    }),
  ];
}
