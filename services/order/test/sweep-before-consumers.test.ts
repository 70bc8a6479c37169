import { randomUUID } from 'node:crypto';
import { afterAll, describe, expect, test } from 'vitest';
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
import { orderConfigSchema, orderService } from '../src/service.js';
import { CancellationReason, OrderStatus } from '@orderly/order-contract/order_service';
import { PaymentRequestedSchema } from '@orderly/order-contract/order_events';
import { orderClientAs } from './order-clients.js';

// The periodic sweep never comes around during the test: only the one before the consumers can act.
const sagaTimeoutMs = 300;
const config = testServiceConfig('order', orderConfigSchema, {
  service: {
    // The saga without the risk step: StockReserved requests the payment at once (risk-step.test.ts
    // covers the step).
    riskAssessment: false,
    sagaTimeoutMs,
    sagaSweepIntervalMs: 600_000,
  },
});
const bus = new MemoryBus();
const runtimes: ServiceRuntime[] = [];

afterAll(async () => {
  for (const runtime of runtimes) await runtime.stop();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
});

async function startOrderService() {
  const { runtime, url } = await startTestService(orderService, { config, bus });
  runtimes.push(runtime);
  return { runtime, url };
}

describe('saga timeout sweep at start', () => {
  test('when the order service starts after an outage longer than the saga timeout, then open sagas are timed out before a waiting PaymentSucceeded is applied', async () => {
    const recorder = await recordEvents(bus, [PaymentRequestedSchema]);
    const first = await startOrderService();
    const client = await orderClientAs('gateway', first.url);
    const { order } = await client.placeOrder({
      customerId: 'outage',
      idempotencyKey: randomUUID(),
      lines: [{ sku: 'SKU-A', quantity: 1 }],
      paymentMethod: 'pm_card_ok',
    });
    const orderId = order!.orderId;
    await bus.publish([
      newEvent(StockReservedSchema, {
        orderId,
        reservationId: randomUUID(),
        lines: [{ sku: 'SKU-A', quantity: 1, unitPriceCents: 100n }],
        totalCents: 100n,
      }).bus,
    ]);
    await eventually(() =>
      expect(recorder.of(PaymentRequestedSchema).some((e) => e.orderId === orderId)).toBe(true),
    );
    await first.runtime.stop();
    await new Promise((resolve) => setTimeout(resolve, sagaTimeoutMs * 2));

    const second = await startOrderService();
    await bus.publish([
      newEvent(PaymentSucceededSchema, { orderId, paymentId: randomUUID(), amountCents: 100n }).bus,
    ]);

    const operator = await orderClientAs('operator', second.url);
    const after = await operator.getOrderForOperator({ orderId });
    expect(after.order?.status).toBe(OrderStatus.CANCELLED);
    expect(after.order?.cancellationReason).toBe(CancellationReason.TIMED_OUT);
    await recorder.stop();
  });
});
