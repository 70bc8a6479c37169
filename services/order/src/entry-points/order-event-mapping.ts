import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Outbox, PreparedEvent } from '@orderly/platform';
import {
  StockRejectedSchema,
  StockReservedSchema,
  type StockRejected,
  type StockReserved,
} from '@orderly/inventory-contract/inventory_events';
import {
  PaymentFailedSchema,
  PaymentSucceededSchema,
  type PaymentFailed,
  type PaymentSucceeded,
} from '@orderly/payment-contract/payment_events';
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  PaymentRequestedSchema,
  RiskAssessmentRequestedSchema,
} from '@orderly/order-contract/order_events';
import {
  Decision,
  RiskAssessedSchema,
  type RiskAssessed,
} from '@orderly/risk-contract/risk_events';
import type { RiskDecision, SagaAnswer, SagaStep } from '../domain/fulfillment-saga.js';
import { confirmedAt } from '../domain/customer-cancellation.js';
import type { Order } from '../domain/order.js';
import type { OrderEventKind } from '../domain/order-store.js';
import { cancellationReasonOf } from './order-mapping.js';
import { unknownRiskDecision } from '../domain/order-errors.js';

/**
 * Events ↔ the domain, the bus boundary's only mapping: the answers the saga consumes, and the
 * events the order service publishes. Money is `bigint` cents on both sides.
 */

/** The answers each saga subscription receives. */
export const stockAnswerSchemas = [StockReservedSchema, StockRejectedSchema] as const;
export const paymentAnswerSchemas = [PaymentSucceededSchema, PaymentFailedSchema] as const;
export const riskAnswerSchemas = [RiskAssessedSchema] as const;

export type SagaAnswerEvent =
  StockReserved | StockRejected | RiskAssessed | PaymentSucceeded | PaymentFailed;

const riskDecisions = new Map<Decision, RiskDecision>([
  [Decision.APPROVE, 'APPROVE'],
  [Decision.REVIEW, 'REVIEW'],
  [Decision.REJECT, 'REJECT'],
]);

export function sagaAnswerFromEvent(event: SagaAnswerEvent): SagaAnswer {
  const { orderId } = event;
  switch (event.$typeName) {
    case 'inventory.v1.StockReserved':
      return {
        kind: 'StockReserved',
        orderId,
        reservationId: event.reservationId,
        lines: event.lines.map(({ sku, quantity, unitPriceCents }) => ({
          sku,
          quantity,
          unitPriceCents,
        })),
        totalCents: event.totalCents,
        currency: event.currency,
      };
    case 'inventory.v1.StockRejected':
      // Every rejection (out of stock, unknown SKU, ...) cancels the order as OUT_OF_STOCK.
      return { kind: 'StockRejected', orderId };
    case 'risk.v1.RiskAssessed': {
      const decision = riskDecisions.get(event.decision);
      // A decision this version does not know can never be applied: it is refused (dead letter).
      if (decision === undefined) throw unknownRiskDecision(orderId, event.decision);
      return { kind: 'RiskAssessed', orderId, decision };
    }
    case 'payment.v1.PaymentSucceeded':
      return { kind: 'PaymentSucceeded', orderId };
    case 'payment.v1.PaymentFailed':
      return { kind: 'PaymentFailed', orderId };
  }
}

/**
 * Builds the order's event for the outbox, capturing the active trace context: call it in the
 * context of what caused the event (the request, or the answer's delivery), write it with
 * `Outbox.addPrepared` in the transaction that changed the order.
 */
export function prepareOrderEvent(
  outbox: Pick<Outbox, 'prepare'>,
  order: Order,
  kind: OrderEventKind,
): PreparedEvent {
  const common = { orderId: order.id, customerId: order.customerId };
  // Every span that handles this event, in any service, is labelled with the order it is about.
  const correlation = { correlation: { 'order.id': order.id } };
  switch (kind) {
    case 'OrderPlaced':
      return outbox.prepare(
        OrderPlacedSchema,
        {
          ...common,
          lines: order.lines.map(({ sku, quantity }) => ({ sku, quantity })),
          currency: order.currency,
        },
        correlation,
      ).prepared;
    case 'RiskAssessmentRequested':
      return outbox.prepare(
        RiskAssessmentRequestedSchema,
        {
          ...common,
          amountCents: order.totalCents,
          lines: order.lines.map(({ sku, quantity, unitPriceCents }) => ({
            sku,
            quantity,
            unitPriceCents: unitPriceCents ?? 0n,
          })),
          placedAt: timestampFromDate(order.placedAt),
        },
        correlation,
      ).prepared;
    case 'PaymentRequested':
      return outbox.prepare(
        PaymentRequestedSchema,
        {
          ...common,
          amountCents: order.totalCents,
          paymentMethod: order.paymentMethod,
          currency: order.currency,
        },
        correlation,
      ).prepared;
    case 'OrderConfirmed':
      return outbox.prepare(
        OrderConfirmedSchema,
        {
          ...common,
          totalCents: order.totalCents,
          currency: order.currency,
          reservationId: order.reservationId ?? '',
          placedAt: timestampFromDate(order.placedAt),
        },
        correlation,
      ).prepared;
    case 'OrderCancelled': {
      const confirmed = confirmedAt(order);
      return outbox.prepare(
        OrderCancelledSchema,
        {
          ...common,
          reason: cancellationReasonOf(order),
          reservationId: order.reservationId ?? '',
          placedAt: timestampFromDate(order.placedAt),
          ...(confirmed ? { confirmedAt: timestampFromDate(confirmed) } : {}),
        },
        correlation,
      ).prepared;
    }
  }
}

/** Something that caused steps, with the trace its events continue (a delivery of a batch). */
interface Traced {
  inTrace<T>(work: () => T): T;
}

/**
 * The event of each advanced step, built in the trace of the answer at the same index in
 * `causes` (when given), so it continues that answer's trace.
 */
export function sagaStepEvents(
  outbox: Pick<Outbox, 'prepare'>,
  steps: readonly SagaStep[],
  causes?: readonly Traced[],
): PreparedEvent[] {
  return steps.flatMap((step, index) => {
    if (step.kind === 'ignored' || step.publish === undefined) return [];
    const publish = step.publish;
    const prepare = () => prepareOrderEvent(outbox, step.order, publish);
    const cause = causes?.[index];
    return [cause ? cause.inTrace(prepare) : prepare()];
  });
}
