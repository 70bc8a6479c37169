import { randomUUID } from 'node:crypto';
import { PaymentRequestedSchema } from '@orderly/order/contract/order_events';
import { on, type EventHandler, type Logger, type Outbox, type Sql } from '@orderly/platform';
import {
  FailureReason,
  PaymentFailedSchema,
  PaymentSucceededSchema,
} from '../../gen/payment/v1/payment_events_pb.js';
import { assertChargeable, decideCharge } from '../domain/payment-decisions.js';
import { chargeIdempotencyKey, type PaymentProvider } from '../domain/payment-provider.js';
import { paymentRepository } from '../data-access/payment-repository.js';

export interface PaymentConsumerDeps {
  readonly outbox: Outbox;
  readonly provider: PaymentProvider<Sql>;
  readonly log: Logger;
  readonly clock: () => Date;
}

/** `payment.charge`: answers each order's PaymentRequested once, charging at most once per order. */
export function paymentRequestsHandlers(deps: PaymentConsumerDeps): EventHandler[] {
  return [
    on(PaymentRequestedSchema, async (tx, event) => {
      const request = {
        orderId: event.orderId,
        amountCents: event.amountCents,
        paymentMethod: event.paymentMethod,
      };
      assertChargeable(request);
      const { orderId } = request;
      await paymentRepository.lockOrder(tx, orderId);
      const decision = decideCharge(await paymentRepository.find(tx, orderId));
      if (decision.action === 'already-answered') {
        deps.log.info(
          { orderId, status: decision.status },
          'payment already answered, request ignored',
        );
        return;
      }
      if (decision.action === 'refuse') {
        await deps.outbox.add(tx, PaymentFailedSchema, {
          orderId,
          reason: FailureReason.ORDER_ALREADY_CANCELLED,
        });
        deps.log.info({ orderId }, 'payment refused, order already cancelled');
        return;
      }
      const result = await deps.provider.charge(
        { ...request, customerId: event.customerId, idempotencyKey: chargeIdempotencyKey(orderId) },
        tx,
      );
      const paymentId = randomUUID();
      const now = deps.clock();
      if (result.outcome === 'captured') {
        await paymentRepository.insert(
          tx,
          {
            orderId,
            paymentId,
            status: 'CAPTURED',
            amountCents: request.amountCents,
            providerRef: result.providerRef,
          },
          now,
        );
        await deps.outbox.add(tx, PaymentSucceededSchema, {
          orderId,
          paymentId,
          amountCents: request.amountCents,
        });
        deps.log.info({ orderId, paymentId }, 'payment captured');
        return;
      }
      await paymentRepository.insert(
        tx,
        {
          orderId,
          paymentId,
          status: 'DECLINED',
          amountCents: request.amountCents,
          providerRef: null,
        },
        now,
      );
      // An unreachable provider is an answer too: the order must not wait for a saga timeout.
      const reason =
        result.outcome === 'unavailable'
          ? FailureReason.PROVIDER_UNAVAILABLE
          : FailureReason.DECLINED;
      await deps.outbox.add(tx, PaymentFailedSchema, { orderId, reason });
      deps.log.info(
        { orderId, paymentId, declineReason: result.reason, outcome: result.outcome },
        'payment declined',
      );
    }),
  ];
}
