import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Code, ConnectError, type Client } from '@connectrpc/connect';
import { MemoryBus, errorCodeHeader, newEvent, type ServiceRuntime } from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  recordEvents,
  startTestService,
  testServiceConfig,
} from '@orderly/platform/testing';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory-contract/inventory_events';
import {
  PaymentFailedSchema,
  PaymentSucceededSchema,
} from '@orderly/payment-contract/payment_events';
import { orderConfigSchema, orderService } from '../src/service.js';
import type { OrderService } from '@orderly/order-contract/order_service';
import { OrderStatus, CancellationReason } from '@orderly/order-contract/order_service';
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
  PaymentRequestedSchema,
} from '@orderly/order-contract/order_events';
import { randomUUID } from 'node:crypto';
import { orderClientAs } from './order-clients.js';

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
let operator: Client<typeof OrderService>;
let recorder: Awaited<ReturnType<typeof recordEvents>>;

const aPlaceOrderRequest = (
  overrides: Partial<{ customerId: string; idempotencyKey: string; paymentMethod: string }> = {},
) => ({
  customerId: 'customer-1',
  idempotencyKey: randomUUID(),
  lines: [{ sku: 'SKU-A', quantity: 2 }],
  paymentMethod: 'pm_card_ok',
  ...overrides,
});

async function publish(event: ReturnType<typeof newEvent>) {
  await bus.publish([event.bus]);
}

beforeAll(async () => {
  recorder = await recordEvents(bus, [
    OrderPlacedSchema,
    PaymentRequestedSchema,
    OrderConfirmedSchema,
    OrderCancelledSchema,
  ]);
  let url: string;
  ({ runtime, url } = await startTestService(orderService, { config, bus }));
  client = await orderClientAs('gateway', url);
  operator = await orderClientAs('operator', url);
});

afterAll(async () => {
  await runtime?.stop();
  await recorder?.stop();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
});

describe('PlaceOrder', () => {
  test('when an order is placed, then it is PENDING and OrderPlaced is published', async () => {
    const { order, replayed } = await client.placeOrder(aPlaceOrderRequest());
    expect(replayed).toBe(false);
    expect(order?.status).toBe(OrderStatus.PENDING);
    await eventually(() =>
      expect(recorder.of(OrderPlacedSchema).map((e) => e.orderId)).toContain(order?.orderId),
    );
    const placed = recorder.of(OrderPlacedSchema).find((e) => e.orderId === order?.orderId);
    expect(placed?.lines).toEqual([expect.objectContaining({ sku: 'SKU-A', quantity: 2 })]);
    expect(placed?.eventId).toMatch(/^[0-9a-f-]{36}$/);
    expect(placed?.schemaVersion).toBe(1);
  });

  test('when the same idempotency key is sent again with the same content, then the same order is returned', async () => {
    const request = aPlaceOrderRequest();
    const first = await client.placeOrder(request);
    const second = await client.placeOrder(request);
    expect(second.replayed).toBe(true);
    expect(second.order?.orderId).toBe(first.order?.orderId);
  });

  test('when many orders arrive at once, then they share transactions and each is recorded once with its event', async () => {
    const requests = Array.from({ length: 40 }, () => aPlaceOrderRequest({ customerId: 'burst' }));
    const responses = await Promise.all(requests.map((r) => client.placeOrder(r)));
    const ids = responses.map((r) => r.order!.orderId);
    expect(new Set(ids).size).toBe(40);
    await eventually(() =>
      expect(recorder.of(OrderPlacedSchema).filter((e) => ids.includes(e.orderId))).toHaveLength(
        40,
      ),
    );
  });

  test('when the same request is sent many times at once, then one order is created and the others replay it', async () => {
    const request = aPlaceOrderRequest();
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => client.placeOrder(request)),
    );
    expect(new Set(responses.map((r) => r.order!.orderId)).size).toBe(1);
    expect(responses.filter((r) => !r.replayed)).toHaveLength(1);
    await eventually(() =>
      expect(
        recorder.of(OrderPlacedSchema).filter((e) => e.orderId === responses[0]!.order!.orderId),
      ).toHaveLength(1),
    );
  });

  test('when the same idempotency key comes with different content, then it is ALREADY_EXISTS', async () => {
    const request = aPlaceOrderRequest();
    await client.placeOrder(request);
    const error = await client
      .placeOrder({ ...request, lines: [{ sku: 'SKU-B', quantity: 1 }] })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectError);
    expect((error as ConnectError).code).toBe(Code.AlreadyExists);
    expect((error as ConnectError).metadata.get(errorCodeHeader)).toBe(
      'ORDER_IDEMPOTENCY_KEY_REUSED',
    );
  });

  test('when a line has no positive quantity, then it is INVALID_ARGUMENT and nothing is stored', async () => {
    const request = { ...aPlaceOrderRequest(), lines: [{ sku: 'SKU-A', quantity: 0 }] };
    const error = await client.placeOrder(request).catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe(Code.InvalidArgument);
    const { orders } = await client.listOrders({ customerId: request.customerId, limit: 100 });
    expect(orders.every((o) => o.lines.every((l) => l.quantity > 0))).toBe(true);
  });

  test('when the caller deadline is already spent, then the call fails with DEADLINE_EXCEEDED', async () => {
    const error = await client
      .placeOrder(aPlaceOrderRequest(), { timeoutMs: 1 })
      .catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe(Code.DeadlineExceeded);
  });
});

describe('GetOrder and ListOrders', () => {
  test('when another customer asks for an order, then it is NOT_FOUND', async () => {
    const { order } = await client.placeOrder(aPlaceOrderRequest({ customerId: 'owner' }));
    const error = await client
      .getOrder({ orderId: order!.orderId, customerId: 'intruder' })
      .catch((e: unknown) => e);
    expect((error as ConnectError).code).toBe(Code.NotFound);
    expect(
      (await client.getOrder({ orderId: order!.orderId, customerId: 'owner' })).order?.orderId,
    ).toBe(order!.orderId);
  });

  test('when the id is unknown or malformed, then it is NOT_FOUND with ORDER_NOT_FOUND', async () => {
    for (const orderId of [randomUUID(), 'not-a-uuid']) {
      const error = (await client
        .getOrder({ orderId, customerId: 'customer-1' })
        .catch((e: unknown) => e)) as ConnectError;
      expect(error.code).toBe(Code.NotFound);
      expect(error.metadata.get(errorCodeHeader)).toBe('ORDER_NOT_FOUND');
    }
  });

  test('when a customer lists orders, then only theirs come back, newest first', async () => {
    const customerId = `lister-${randomUUID()}`;
    const a = await client.placeOrder(aPlaceOrderRequest({ customerId }));
    const b = await client.placeOrder(aPlaceOrderRequest({ customerId }));
    const { orders } = await client.listOrders({ customerId, limit: 10 });
    expect(orders.map((o) => o.orderId)).toEqual([b.order!.orderId, a.order!.orderId]);
  });
});

describe('fulfilment saga', () => {
  async function placed() {
    const { order } = await client.placeOrder(aPlaceOrderRequest());
    return order!.orderId;
  }
  const reserved = (orderId: string) =>
    newEvent(StockReservedSchema, {
      orderId,
      reservationId: randomUUID(),
      lines: [{ sku: 'SKU-A', quantity: 2, unitPriceCents: 250n }],
      totalCents: 500n,
    });

  test('when stock is reserved and payment succeeds, then the order is CONFIRMED with its history', async () => {
    const orderId = await placed();
    await publish(reserved(orderId));
    await eventually(() =>
      expect(
        recorder.of(PaymentRequestedSchema).find((e) => e.orderId === orderId)?.amountCents,
      ).toBe(500n),
    );
    await publish(
      newEvent(PaymentSucceededSchema, { orderId, paymentId: randomUUID(), amountCents: 500n }),
    );
    await eventually(() =>
      expect(recorder.of(OrderConfirmedSchema).some((e) => e.orderId === orderId)).toBe(true),
    );
    const { order } = await operator.getOrderForOperator({ orderId });
    expect(order?.status).toBe(OrderStatus.CONFIRMED);
    expect(order?.totalCents).toBe(500n);
    expect(order?.lines[0]?.unitPriceCents).toBe(250n);
    expect(order?.history.map((h) => h.status)).toEqual([
      OrderStatus.PENDING,
      OrderStatus.STOCK_RESERVED,
      OrderStatus.CONFIRMED,
    ]);
  });

  test('when stock is rejected, then the order is CANCELLED as OUT_OF_STOCK and no payment is requested', async () => {
    const orderId = await placed();
    await publish(
      newEvent(StockRejectedSchema, { orderId, skus: ['SKU-A'], reason: 'OUT_OF_STOCK' }),
    );
    await eventually(async () =>
      expect((await operator.getOrderForOperator({ orderId })).order?.cancellationReason).toBe(
        CancellationReason.OUT_OF_STOCK,
      ),
    );
    // The row commits before the relay publishes OrderCancelled: the event arrives a moment later.
    await eventually(() =>
      expect(recorder.of(OrderCancelledSchema).find((e) => e.orderId === orderId)?.reason).toBe(
        CancellationReason.OUT_OF_STOCK,
      ),
    );
    expect(recorder.of(PaymentRequestedSchema).some((e) => e.orderId === orderId)).toBe(false);
  });

  test('when payment fails, then the order is CANCELLED as PAYMENT_DECLINED and OrderCancelled names the reservation', async () => {
    const orderId = await placed();
    const reservation = reserved(orderId);
    await publish(reservation);
    await eventually(() =>
      expect(recorder.of(PaymentRequestedSchema).some((e) => e.orderId === orderId)).toBe(true),
    );
    await publish(newEvent(PaymentFailedSchema, { orderId, reason: 1 }));
    await eventually(() =>
      expect(recorder.of(OrderCancelledSchema).find((e) => e.orderId === orderId)).toMatchObject({
        reason: CancellationReason.PAYMENT_DECLINED,
        reservationId: reservation.message.reservationId,
      }),
    );
  });

  test('when the same answer is delivered twice, then it is applied once', async () => {
    const orderId = await placed();
    const event = reserved(orderId);
    await publish(event);
    await publish({ ...event, bus: { ...event.bus } });
    await bus.publish([{ ...event.bus, id: `${event.bus.id}-redelivered` }]);
    await eventually(() =>
      expect(recorder.of(PaymentRequestedSchema).filter((e) => e.orderId === orderId)).toHaveLength(
        1,
      ),
    );
    const { order } = await operator.getOrderForOperator({ orderId });
    expect(order?.history).toHaveLength(2);
  });

  test('when an answer payload cannot be decoded, then it goes to the dead letters', async () => {
    const poison = newEvent(StockReservedSchema, { orderId: randomUUID() });
    await bus.publish([{ ...poison.bus, data: new Uint8Array([0xff, 0xff, 0xff]) }]);
    await eventually(async () =>
      expect(
        (await bus.listDeadLetters()).some(
          (d) => d.eventId === poison.bus.id && d.subscription === 'order.stock-results',
        ),
      ).toBe(true),
    );
  });
});
