import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { MemoryBus, newEvent, type ServiceRuntime } from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  recordEvents,
  startTestService,
  testServiceConfig,
} from '@orderly/platform/testing';
import { PaymentSucceededSchema } from '@orderly/payment-contract/payment_events';
import { orderConfigSchema, orderService } from '../src/service.js';
import { CancellationReason, OrderStatus } from '@orderly/order-contract/order_service';
import { OrderCancelledSchema } from '@orderly/order-contract/order_events';
import { orderClientAs } from './order-clients.js';

const config = testServiceConfig('order', orderConfigSchema, {
  service: { sagaTimeoutMs: 300, sagaSweepIntervalMs: 50 },
});
const bus = new MemoryBus();
let runtime: ServiceRuntime;
let url: string;

beforeAll(async () => {
  ({ runtime, url } = await startTestService(orderService, { config, bus }));
});
afterAll(async () => {
  await runtime?.stop();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
});

describe('saga timeout', () => {
  test('when no answer arrives in time, then the order is cancelled as TIMED_OUT and a late answer is ignored', async () => {
    const recorder = await recordEvents(bus, [OrderCancelledSchema]);
    const client = await orderClientAs('gateway', url);
    const operator = await orderClientAs('operator', url);
    const { order } = await client.placeOrder({
      customerId: 'slow',
      idempotencyKey: randomUUID(),
      lines: [{ sku: 'SKU-A', quantity: 1 }],
      paymentMethod: 'pm_card_ok',
    });
    const orderId = order!.orderId;
    await eventually(() =>
      expect(recorder.of(OrderCancelledSchema).find((e) => e.orderId === orderId)?.reason).toBe(
        CancellationReason.TIMED_OUT,
      ),
    );
    await bus.publish([
      newEvent(PaymentSucceededSchema, { orderId, paymentId: randomUUID(), amountCents: 1n }).bus,
    ]);
    const after = await operator.getOrderForOperator({ orderId });
    expect(after.order?.status).toBe(OrderStatus.CANCELLED);
    expect(after.order?.cancellationReason).toBe(CancellationReason.TIMED_OUT);
    await recorder.stop();
  });
});
