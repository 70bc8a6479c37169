import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from '@connectrpc/connect';
import { MemoryBus, newEvent, type ServiceRuntime } from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  recordEvents,
  startTestService,
  testServiceConfig,
} from '@orderly/platform/testing';
import { StockReservedSchema } from '@orderly/inventory-contract/inventory_events';
import { PaymentSucceededSchema } from '@orderly/payment-contract/payment_events';
import {
  OrderCancelledSchema,
  PaymentRequestedSchema,
  RiskAssessmentRequestedSchema,
} from '@orderly/order-contract/order_events';
import {
  CancellationReason,
  OrderStatus,
  RiskReview,
  type OrderService,
} from '@orderly/order-contract/order_service';
import { DecidedBy, Decision, RiskAssessedSchema } from '@orderly/risk-contract/risk_events';
import { orderConfigSchema, orderService } from '../src/service.js';
import { orderClientAs } from './order-clients.js';

/**
 * The saga's risk step (services.order.riskAssessment on, as shipped): after StockReserved the
 * order asks risk and requests no payment until risk approves; risk's answers are published here
 * by the test, as the risk service would.
 */
type Recorder = Awaited<ReturnType<typeof recordEvents>>;

interface RunningOrder {
  readonly runtime: ServiceRuntime;
  readonly bus: MemoryBus;
  readonly recorder: Recorder;
  readonly client: Client<typeof OrderService>;
  readonly operator: Client<typeof OrderService>;
  stop(): Promise<void>;
}

async function startOrder(service: Record<string, unknown>): Promise<RunningOrder> {
  const config = testServiceConfig('order', orderConfigSchema, { service });
  // A zero duplicate window lets a test deliver one event twice, as a broker redelivery would.
  const bus = new MemoryBus({ duplicateWindowSize: 0 });
  const recorder = await recordEvents(bus, [
    RiskAssessmentRequestedSchema,
    PaymentRequestedSchema,
    OrderCancelledSchema,
  ]);
  const { runtime, url } = await startTestService(orderService, { config, bus });
  return {
    runtime,
    bus,
    recorder,
    client: await orderClientAs('gateway', url),
    operator: await orderClientAs('operator', url),
    stop: async () => {
      await recorder.stop();
      await runtime.stop();
      await bus.close();
      await dropTestDatabase(config.platform.postgres.url, config.service.database);
    },
  };
}

const reservationId = () => randomUUID();

/** Places an order and reserves its stock; resolves once risk was asked to assess it. */
async function reservedOrder(order: RunningOrder, customerId = 'customer-risk'): Promise<string> {
  const { order: placed } = await order.client.placeOrder({
    customerId,
    idempotencyKey: randomUUID(),
    lines: [{ sku: 'SKU-A', quantity: 2 }],
    paymentMethod: 'pm_card_ok',
  });
  const orderId = placed!.orderId;
  await order.bus.publish([
    newEvent(StockReservedSchema, {
      orderId,
      reservationId: reservationId(),
      lines: [{ sku: 'SKU-A', quantity: 2, unitPriceCents: 1250n }],
      totalCents: 2500n,
    }).bus,
  ]);
  await eventually(() =>
    expect(
      order.recorder.of(RiskAssessmentRequestedSchema).filter((e) => e.orderId === orderId),
    ).toHaveLength(1),
  );
  return orderId;
}

function riskAnswer(orderId: string, decision: Decision, decidedBy = DecidedBy.RULE) {
  return newEvent(RiskAssessedSchema, {
    orderId,
    customerId: 'customer-risk',
    decision,
    reasons: decision === Decision.APPROVE ? [] : ['AMOUNT_HIGH'],
    score: decision === Decision.APPROVE ? 0 : 500,
    decidedBy,
  });
}

const paymentRequests = (order: RunningOrder, orderId: string) =>
  order.recorder.of(PaymentRequestedSchema).filter((e) => e.orderId === orderId);
const cancellations = (order: RunningOrder, orderId: string) =>
  order.recorder.of(OrderCancelledSchema).filter((e) => e.orderId === orderId);

describe('the risk step of the saga', () => {
  let order: RunningOrder | undefined;
  beforeAll(async () => {
    order = await startOrder({ sagaTimeoutMs: 600_000, sagaSweepIntervalMs: 100 });
  });
  afterAll(() => order?.stop());

  test('when stock is reserved, then risk is asked with the priced order and no payment is requested', async () => {
    const orderId = await reservedOrder(order!);
    const [request] = order!.recorder
      .of(RiskAssessmentRequestedSchema)
      .filter((e) => e.orderId === orderId);
    expect(request).toMatchObject({ customerId: 'customer-risk', amountCents: 2500n });
    expect(request?.lines).toEqual([
      expect.objectContaining({ sku: 'SKU-A', quantity: 2, unitPriceCents: 1250n }),
    ]);
    expect(request?.placedAt).toBeDefined();
    const { order: got } = await order!.operator.getOrderForOperator({ orderId });
    expect(got).toMatchObject({
      status: OrderStatus.STOCK_RESERVED,
      riskReview: RiskReview.AWAITING,
    });
    expect(paymentRequests(order!, orderId)).toHaveLength(0);
  });

  test('when risk rejects, then the order is CANCELLED as RISK_REJECTED, OrderCancelled releases its reservation and no payment is requested', async () => {
    const orderId = await reservedOrder(order!);
    await order!.bus.publish([riskAnswer(orderId, Decision.REJECT).bus]);
    const [cancelled] = await eventually(() => {
      const events = cancellations(order!, orderId);
      expect(events).toHaveLength(1);
      return events;
    });
    expect(cancelled?.reason).toBe(CancellationReason.RISK_REJECTED);
    expect(cancelled?.reservationId).not.toBe('');
    const { order: got } = await order!.operator.getOrderForOperator({ orderId });
    expect(got).toMatchObject({
      status: OrderStatus.CANCELLED,
      cancellationReason: CancellationReason.RISK_REJECTED,
      riskReview: RiskReview.UNSPECIFIED,
    });
    expect(paymentRequests(order!, orderId)).toHaveLength(0);
  });

  test('when risk approves, then the payment is requested once, even when the answer is delivered twice', async () => {
    const orderId = await reservedOrder(order!);
    const approve = riskAnswer(orderId, Decision.APPROVE);
    await order!.bus.publish([approve.bus]);
    await order!.bus.publish([approve.bus]);
    // A second answer with another event id (a risk replica answering again) changes nothing either.
    await order!.bus.publish([riskAnswer(orderId, Decision.APPROVE).bus]);
    await eventually(() => expect(paymentRequests(order!, orderId)).toHaveLength(1));
    const { order: got } = await order!.operator.getOrderForOperator({ orderId });
    expect(got?.riskReview).toBe(RiskReview.APPROVED);
    // A late REJECT after the approval (the order is being paid for) is ignored.
    await order!.bus.publish([riskAnswer(orderId, Decision.REJECT).bus]);
    expect(cancellations(order!, orderId)).toHaveLength(0);
    expect(paymentRequests(order!, orderId)).toHaveLength(1);
  });

  test('when risk holds an order for review and an admin approves it, then it is paid for and CONFIRMED', async () => {
    const orderId = await reservedOrder(order!);
    await order!.bus.publish([riskAnswer(orderId, Decision.REVIEW).bus]);
    await eventually(async () => {
      const { order: got } = await order!.operator.getOrderForOperator({ orderId });
      expect(got).toMatchObject({
        status: OrderStatus.STOCK_RESERVED,
        riskReview: RiskReview.HELD,
      });
    });
    expect(paymentRequests(order!, orderId)).toHaveLength(0);

    await order!.bus.publish([riskAnswer(orderId, Decision.APPROVE, DecidedBy.ADMIN).bus]);
    await eventually(() => expect(paymentRequests(order!, orderId)).toHaveLength(1));
    await order!.bus.publish([
      newEvent(PaymentSucceededSchema, { orderId, paymentId: randomUUID(), amountCents: 2500n })
        .bus,
    ]);
    const { order: got } = await order!.operator.getOrderForOperator({ orderId });
    expect(got).toMatchObject({ status: OrderStatus.CONFIRMED, riskReview: RiskReview.APPROVED });
  });

  test('when a held order is rejected by an admin, then it is CANCELLED as RISK_REJECTED with nothing charged', async () => {
    const orderId = await reservedOrder(order!);
    await order!.bus.publish([riskAnswer(orderId, Decision.REVIEW).bus]);
    await order!.bus.publish([riskAnswer(orderId, Decision.REJECT, DecidedBy.ADMIN).bus]);
    await eventually(() =>
      expect(cancellations(order!, orderId).map((e) => e.reason)).toEqual([
        CancellationReason.RISK_REJECTED,
      ]),
    );
    expect(paymentRequests(order!, orderId)).toHaveLength(0);
  });
});

describe('the saga timeout and orders held for review', () => {
  let order: RunningOrder | undefined;
  beforeAll(async () => {
    order = await startOrder({ sagaTimeoutMs: 300, sagaSweepIntervalMs: 50 });
  });
  afterAll(() => order?.stop());

  test('when an order is held for review past the saga timeout, then it is not timed out (risk decides it), while an order awaiting an answer is', async () => {
    const held = await reservedOrder(order!, 'customer-held');
    await order!.bus.publish([riskAnswer(held, Decision.REVIEW).bus]);
    const waiting = await reservedOrder(order!, 'customer-waiting');
    // The order placed after the held one times out: the sweeper has passed the held one's timeout.
    await eventually(() =>
      expect(cancellations(order!, waiting).map((e) => e.reason)).toEqual([
        CancellationReason.TIMED_OUT,
      ]),
    );
    expect(cancellations(order!, held)).toHaveLength(0);
    const { order: got } = await order!.operator.getOrderForOperator({ orderId: held });
    expect(got).toMatchObject({ status: OrderStatus.STOCK_RESERVED, riskReview: RiskReview.HELD });

    // Released by risk's final answer, its payment is requested (its saga clock restarts then).
    await order!.bus.publish([riskAnswer(held, Decision.APPROVE, DecidedBy.REVIEW_TIMEOUT).bus]);
    await eventually(() => expect(paymentRequests(order!, held)).toHaveLength(1));
  });
});
