import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from '@connectrpc/connect';
import { MemoryBus, newEvent, type ServiceRuntime } from '@orderly/platform';
import {
  callOutcome,
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
  OrderConfirmedSchema,
  PaymentRequestedSchema,
} from '@orderly/order-contract/order_events';
import {
  CancellationReason,
  OrderStatus,
  type OrderService,
} from '@orderly/order-contract/order_service';
import { orderConfigSchema, orderService } from '../src/service.js';
import { orderClientAs } from './order-clients.js';

/** Issue 20 item 6: a customer cancels their order before payment, after confirmation, twice. */
const config = testServiceConfig('order', orderConfigSchema, {
  service: {
    // The saga without the risk step: StockReserved requests the payment at once (risk-step.test.ts
    // covers the step).
    riskAssessment: false,
    sagaTimeoutMs: 60_000,
    sagaSweepIntervalMs: 100,
  },
});
const bus = new MemoryBus();
let runtime: ServiceRuntime;
let client: Client<typeof OrderService>;
let recorder: Awaited<ReturnType<typeof recordEvents>>;

beforeAll(async () => {
  recorder = await recordEvents(bus, [
    PaymentRequestedSchema,
    OrderConfirmedSchema,
    OrderCancelledSchema,
  ]);
  let url: string;
  ({ runtime, url } = await startTestService(orderService, { config, bus }));
  client = await orderClientAs('gateway', url);
});

afterAll(async () => {
  await runtime?.stop();
  await recorder?.stop();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
});

async function placed(customerId: string): Promise<string> {
  const { order } = await client.placeOrder({
    customerId,
    idempotencyKey: randomUUID(),
    lines: [{ sku: 'SKU-A', quantity: 2 }],
    paymentMethod: 'pm_card_ok',
  });
  return order!.orderId;
}

async function reserve(orderId: string): Promise<string> {
  const reservationId = randomUUID();
  await bus.publish([
    newEvent(StockReservedSchema, {
      orderId,
      reservationId,
      lines: [{ sku: 'SKU-A', quantity: 2, unitPriceCents: 250n }],
      totalCents: 500n,
    }).bus,
  ]);
  await eventually(() =>
    expect(recorder.of(PaymentRequestedSchema).some((e) => e.orderId === orderId)).toBe(true),
  );
  return reservationId;
}

async function confirm(orderId: string): Promise<void> {
  await bus.publish([
    newEvent(PaymentSucceededSchema, { orderId, paymentId: randomUUID(), amountCents: 500n }).bus,
  ]);
  await eventually(() =>
    expect(recorder.of(OrderConfirmedSchema).some((e) => e.orderId === orderId)).toBe(true),
  );
}

const cancellationsOf = (orderId: string) =>
  recorder.of(OrderCancelledSchema).filter((e) => e.orderId === orderId);

describe('CancelOrder', () => {
  test('when a pending order is cancelled, then it is CANCELLED as CUSTOMER_REQUESTED and OrderCancelled carries no reservation and no confirmation', async () => {
    const orderId = await placed('alice');
    const { order, replayed } = await client.cancelOrder({
      orderId,
      customerId: 'alice',
      idempotencyKey: 'cancel-1',
    });
    expect(replayed).toBe(false);
    expect(order).toMatchObject({
      status: OrderStatus.CANCELLED,
      cancellationReason: CancellationReason.CUSTOMER_REQUESTED,
    });
    expect(order?.history.map((h) => h.status)).toEqual([
      OrderStatus.PENDING,
      OrderStatus.CANCELLED,
    ]);
    await eventually(() => expect(cancellationsOf(orderId)).toHaveLength(1));
    expect(cancellationsOf(orderId)[0]).toMatchObject({
      reason: CancellationReason.CUSTOMER_REQUESTED,
      reservationId: '',
      customerId: 'alice',
    });
    expect(cancellationsOf(orderId)[0]?.confirmedAt).toBeUndefined();
  });

  test('when stock was reserved and the payment answers after the cancellation, then the order stays CANCELLED and is never confirmed', async () => {
    const orderId = await placed('alice');
    const reservationId = await reserve(orderId);
    await client.cancelOrder({ orderId, customerId: 'alice', idempotencyKey: 'cancel-2' });
    await bus.publish([
      newEvent(PaymentSucceededSchema, { orderId, paymentId: randomUUID(), amountCents: 500n }).bus,
    ]);
    await eventually(() => expect(cancellationsOf(orderId)).toHaveLength(1));
    expect(cancellationsOf(orderId)[0]?.reservationId).toBe(reservationId);
    const { order } = await client.getOrder({ orderId, customerId: 'alice' });
    expect(order?.status).toBe(OrderStatus.CANCELLED);
    expect(recorder.of(OrderConfirmedSchema).some((e) => e.orderId === orderId)).toBe(false);
  });

  test('when a confirmed order is cancelled, then OrderCancelled carries its reservation and confirmation time, so payment refunds and inventory takes the units back', async () => {
    const orderId = await placed('alice');
    const reservationId = await reserve(orderId);
    await confirm(orderId);
    const { order } = await client.cancelOrder({
      orderId,
      customerId: 'alice',
      idempotencyKey: 'cancel-3',
    });
    expect(order?.history.map((h) => h.status)).toEqual([
      OrderStatus.PENDING,
      OrderStatus.STOCK_RESERVED,
      OrderStatus.CONFIRMED,
      OrderStatus.CANCELLED,
    ]);
    expect(order?.cancellationReason).toBe(CancellationReason.CUSTOMER_REQUESTED);
    await eventually(() => expect(cancellationsOf(orderId)).toHaveLength(1));
    const event = cancellationsOf(orderId)[0]!;
    expect(event.reservationId).toBe(reservationId);
    expect(event.confirmedAt).toEqual(order?.history[2]?.at);
  });

  test('when the same cancel is sent again (or several at once), then the answer is the same order and one OrderCancelled is published', async () => {
    const orderId = await placed('alice');
    const request = { orderId, customerId: 'alice', idempotencyKey: 'cancel-4' };
    const answers = await Promise.all([1, 2, 3].map(() => client.cancelOrder(request)));
    expect(answers.filter((a) => !a.replayed)).toHaveLength(1);
    for (const answer of answers) expect(answer.order).toEqual(answers[0]?.order);
    const again = await client.cancelOrder(request);
    expect(again.replayed).toBe(true);
    expect(again.order).toEqual(answers[0]?.order);
    const otherKey = await client.cancelOrder({ ...request, idempotencyKey: 'cancel-4b' });
    expect(otherKey).toMatchObject({ replayed: false, order: { status: OrderStatus.CANCELLED } });
    await eventually(() => expect(cancellationsOf(orderId)).toHaveLength(1));
  });

  test("when someone else's or an unknown order is cancelled, then it is NOT_FOUND and the order is untouched", async () => {
    const orderId = await placed('alice');
    for (const request of [
      { orderId, customerId: 'mallory', idempotencyKey: 'k' },
      { orderId: randomUUID(), customerId: 'alice', idempotencyKey: 'k' },
      { orderId: 'not-a-uuid', customerId: 'alice', idempotencyKey: 'k' },
    ])
      expect(await callOutcome(client.cancelOrder(request))).toEqual({
        code: 'not_found',
        errorCode: 'ORDER_NOT_FOUND',
      });
    expect((await client.getOrder({ orderId, customerId: 'alice' })).order?.status).toBe(
      OrderStatus.PENDING,
    );
    expect(
      await callOutcome(client.cancelOrder({ orderId, customerId: 'alice', idempotencyKey: '' })),
    ).toEqual({ code: 'invalid_argument', errorCode: 'ORDER_INVALID' });
  });
});

describe('CancelOrder after the cancel window', () => {
  const narrow = testServiceConfig('order', orderConfigSchema, {
    service: { customerCancelWindowMs: 1 },
  });
  let narrowRuntime: ServiceRuntime;
  let narrowClient: Client<typeof OrderService>;
  const narrowBus = new MemoryBus();
  beforeAll(async () => {
    let url: string;
    ({ runtime: narrowRuntime, url } = await startTestService(orderService, {
      config: narrow,
      bus: narrowBus,
    }));
    narrowClient = await orderClientAs('gateway', url);
  });
  afterAll(async () => {
    await narrowRuntime?.stop();
    await dropTestDatabase(narrow.platform.postgres.url, narrow.service.database);
  });

  test('when a confirmed order is cancelled after the window, then it is ALREADY_EXISTS with ORDER_NOT_CANCELLABLE and stays CONFIRMED; an open order still cancels', async () => {
    const place = () =>
      narrowClient.placeOrder({
        customerId: 'bob',
        idempotencyKey: randomUUID(),
        lines: [{ sku: 'SKU-A', quantity: 1 }],
        paymentMethod: 'pm_card_ok',
      });
    const orderId = (await place()).order!.orderId;
    await narrowBus.publish([
      newEvent(StockReservedSchema, {
        orderId,
        reservationId: randomUUID(),
        lines: [{ sku: 'SKU-A', quantity: 1, unitPriceCents: 100n }],
        totalCents: 100n,
      }).bus,
    ]);
    await narrowBus.publish([
      newEvent(PaymentSucceededSchema, { orderId, paymentId: randomUUID(), amountCents: 100n }).bus,
    ]);
    await eventually(async () =>
      expect((await narrowClient.getOrder({ orderId, customerId: 'bob' })).order?.status).toBe(
        OrderStatus.CONFIRMED,
      ),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(
      await callOutcome(
        narrowClient.cancelOrder({ orderId, customerId: 'bob', idempotencyKey: 'k' }),
      ),
    ).toEqual({ code: 'already_exists', errorCode: 'ORDER_NOT_CANCELLABLE' });
    expect((await narrowClient.getOrder({ orderId, customerId: 'bob' })).order?.status).toBe(
      OrderStatus.CONFIRMED,
    );
    const open = (await place()).order!.orderId;
    expect(
      (await narrowClient.cancelOrder({ orderId: open, customerId: 'bob', idempotencyKey: 'k' }))
        .order?.status,
    ).toBe(OrderStatus.CANCELLED);
  });
});
