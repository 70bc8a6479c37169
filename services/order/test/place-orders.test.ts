import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Code, type Client } from '@connectrpc/connect';
import {
  decodeEvent,
  eventSubject,
  MemoryBus,
  type ServiceRuntime,
  type Subscription,
} from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  startTestService,
  testServiceConfig,
} from '@orderly/platform/testing';
import { orderConfigSchema, orderService } from '../src/service.js';
import { OrderStatus, type OrderService } from '@orderly/order-contract/order_service';
import { OrderPlacedSchema } from '@orderly/order-contract/order_events';
import { orderClientAs } from './order-clients.js';

/**
 * PlaceOrders, the batched intake the gateway uses under load: every order of a call is placed
 * exactly as PlaceOrder would place it and answered on its own; its saga continues the trace of
 * the request it came from, not the batch call's.
 */
const config = testServiceConfig('order', orderConfigSchema, {
  service: { sagaTimeoutMs: 60_000 },
});
const bus = new MemoryBus();
let runtime: ServiceRuntime;
let client: Client<typeof OrderService>;
const placed: { orderId: string; traceparent: string | undefined }[] = [];
let subscription: Subscription;

const anOrder = (overrides: Partial<{ idempotencyKey: string; sku: string }> = {}) => ({
  customerId: 'batch-customer',
  idempotencyKey: overrides.idempotencyKey ?? randomUUID(),
  lines: [{ sku: overrides.sku ?? 'SKU-A', quantity: 1 }],
  paymentMethod: 'pm_card_ok',
});
const traceparentOf = (traceId: string) => `00-${traceId}-${'1'.repeat(16)}-01`;
const newTraceId = () => randomUUID().replace(/-/g, '');

beforeAll(async () => {
  subscription = await bus.subscribe(
    {
      name: 'test.place-orders',
      subjects: [eventSubject(OrderPlacedSchema)],
      maxDeliver: 1,
      ackWaitMs: 30_000,
      retryBackoffMs: [0],
      concurrency: 16,
    },
    async (delivery) => {
      const event = decodeEvent(OrderPlacedSchema, delivery.data);
      placed.push({ orderId: event.orderId, traceparent: delivery.headers.traceparent });
      return Promise.resolve();
    },
  );
  let url: string;
  ({ runtime, url } = await startTestService(orderService, { config, bus }));
  client = await orderClientAs('gateway', url);
});

afterAll(async () => {
  await runtime?.stop();
  await subscription?.stop();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
});

describe('PlaceOrders', () => {
  test('when a batch mixes good orders, a replay, a reused key and an invalid order, then each gets the answer PlaceOrder would give it, in order', async () => {
    const earlier = anOrder();
    const first = await client.placeOrder(earlier);
    const traceIds = [newTraceId(), newTraceId(), newTraceId()];

    const { results } = await client.placeOrders({
      orders: [
        { order: anOrder(), traceContext: { traceparent: traceparentOf(traceIds[0]!) } },
        { order: earlier, traceContext: {} },
        { order: anOrder({ idempotencyKey: earlier.idempotencyKey, sku: 'SKU-B' }) },
        { order: { ...anOrder(), lines: [] } },
        { order: anOrder(), traceContext: { traceparent: traceparentOf(traceIds[1]!) } },
      ],
    });

    expect(results.map((r) => r.outcome.case)).toEqual([
      'placed',
      'placed',
      'error',
      'error',
      'placed',
    ]);
    const [good, replay, reused, invalid, alsoGood] = results.map((r) => r.outcome);
    expect(good?.case === 'placed' && good.value.order?.status).toBe(OrderStatus.PENDING);
    expect(replay?.case === 'placed' && replay.value.replayed).toBe(true);
    expect(replay?.case === 'placed' && replay.value.order?.orderId).toBe(first.order?.orderId);
    expect(reused?.case === 'error' && reused.value).toMatchObject({
      connectCode: Code.AlreadyExists,
      errorCode: 'ORDER_IDEMPOTENCY_KEY_REUSED',
      shedding: false,
    });
    expect(invalid?.case === 'error' && invalid.value).toMatchObject({
      connectCode: Code.InvalidArgument,
      errorCode: 'ORDER_INVALID',
    });

    // Each new order's saga starts in the trace of the request it came from.
    const ids = [good, alsoGood].map((o) => (o?.case === 'placed' ? o.value.order!.orderId : ''));
    await eventually(() => expect(placed.filter((p) => ids.includes(p.orderId))).toHaveLength(2));
    for (const [index, orderId] of ids.entries()) {
      const event = placed.find((p) => p.orderId === orderId);
      expect(event?.traceparent?.split('-')[1]).toBe(traceIds[index]);
    }
  });
});
