import { PaymentRequestedSchema } from '@orderly/order-contract/order_events';
import { PaymentRequestedSchema as PaymentRequestedV2Schema } from '@orderly/order-contract/v2/order_events';
import {
  onBatchOf,
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
import type { PaymentProvider } from '../domain/payment-provider.js';
import { paymentStore } from '../data-access/payment-store.js';
import { providerSession } from '../data-access/provider-session.js';
import { chargePayment, type ChargeOutcome } from '../use-cases/charge-payment.js';

export interface PaymentConsumerDeps {
  readonly outbox: Outbox;
  readonly provider: PaymentProvider<Sql>;
  readonly log: Logger;
  readonly clock: () => Date;
  /** Provider calls of one run in flight at once (services.payment.providerConcurrency). */
  readonly providerConcurrency: () => number;
}

/**
 * `payment.charge`: answers each order's PaymentRequested once (chargePayment), a run of requests
 * (consecutive ones of a batch) at a time, then writes every answer to the outbox with one
 * statement: PaymentSucceeded for a capture, PaymentFailed for a decline, an unreachable provider
 * or an order cancelled first.
 */
export function paymentRequestsHandlers(deps: PaymentConsumerDeps): EventHandler[] {
  // Both versions in one run: an event published in both has one event id (applied once).
  return onBatchOf(
    [PaymentRequestedSchema, PaymentRequestedV2Schema] as const,
    async (tx, items) => {
      const outcomes = await chargePayment(
        paymentStore(tx),
        providerSession(deps.provider, tx),
        items.map(({ event }) => ({
          orderId: event.orderId,
          customerId: event.customerId,
          // Minor units either way; the simulated provider charges in the order's currency.
          amountCents:
            event.$typeName === PaymentRequestedSchema.typeName
              ? event.amountCents
              : (event.amount?.amountMinor ?? 0n),
          paymentMethod: event.paymentMethod,
        })),
        deps.clock(),
        deps.providerConcurrency(),
      );
      await deps.outbox.addPrepared(
        tx,
        outcomes.flatMap((outcome, index) => {
          const event = answerOf(deps.outbox, outcome);
          return event === undefined ? [] : [items[index]!.inTrace(event)];
        }),
      );

      outcomes.forEach((outcome, index) =>
        items[index]!.inTrace(() => logOutcome(deps.log, outcome)),
      );
    },
  );
}

/** The event that answers the request, as a function to prepare it in the request's trace. */
function answerOf(outbox: Outbox, outcome: ChargeOutcome): (() => PreparedEvent) | undefined {
  switch (outcome.kind) {
    case 'already-answered':
      return undefined;
    case 'refused':
      return () =>
        outbox.prepare(PaymentFailedSchema, {
          orderId: outcome.orderId,
          reason: FailureReason.ORDER_ALREADY_CANCELLED,
        }).prepared;
    case 'charged': {
      const { payment, result } = outcome;
      if (result.outcome === 'captured') {
        return () =>
          outbox.prepare(PaymentSucceededSchema, {
            orderId: payment.orderId,
            paymentId: payment.paymentId,
            amountCents: payment.amountCents,
          }).prepared;
      }
      const reason =
        result.outcome === 'unavailable'
          ? FailureReason.PROVIDER_UNAVAILABLE
          : FailureReason.DECLINED;
      return () =>
        outbox.prepare(PaymentFailedSchema, { orderId: payment.orderId, reason }).prepared;
    }
  }
}

function logOutcome(log: Logger, outcome: ChargeOutcome): void {
  switch (outcome.kind) {
    case 'already-answered':
      log.info(
        { orderId: outcome.orderId, status: outcome.status },
        'payment already answered, request ignored',
      );
      return;
    case 'refused':
      log.info({ orderId: outcome.orderId }, 'payment refused, order already cancelled');
      return;
    case 'charged': {
      const { payment, result } = outcome;
      if (result.outcome === 'captured') {
        log.info({ orderId: payment.orderId, paymentId: payment.paymentId }, 'payment captured');
        return;
      }
      log.info(
        {
          orderId: payment.orderId,
          paymentId: payment.paymentId,
          declineReason: result.reason,
          outcome: result.outcome,
        },
        'payment declined',
      );
    }
  }
}
