import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { MemoryBus, fromRpcError, type ServiceRuntime } from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  startTestService,
  testServiceConfig,
} from '@orderly/platform/testing';
import { orderConfigSchema, orderService } from '../src/service.js';
import type { Client } from '@connectrpc/connect';
import type { OrderService } from '@orderly/order-contract/order_service';
import { orderClientAs } from './order-clients.js';

/**
 * Backpressure: while `maxOpenSagas` orders are still being fulfilled, PlaceOrder refuses new ones
 * with ORDER_INTAKE_SATURATED (503 at the gateway) instead of accepting orders that would wait past
 * their saga timeout; once sagas finish (here: time out), orders are accepted again.
 */
const maxOpenSagas = 3;
const config = testServiceConfig('order', orderConfigSchema, {
  service: {
    maxOpenSagas,
    openSagaCountIntervalMs: 20,
    sagaTimeoutMs: 1500,
    sagaSweepIntervalMs: 50,
  },
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

const anOrder = () => ({
  customerId: 'busy-shop',
  idempotencyKey: randomUUID(),
  lines: [{ sku: 'SKU-A', quantity: 1 }],
  paymentMethod: 'pm_card_ok',
});

/** Places orders until one is refused (the backlog is measured every openSagaCountIntervalMs); its error. */
const eventuallyRefused = (client: Client<typeof OrderService>) =>
  eventually(async () => {
    const error = await client.placeOrder(anOrder()).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeDefined();
    return fromRpcError(error, 'PlaceOrder');
  });

describe('intake backpressure', () => {
  test('when as many sagas as allowed are open, then a new order is refused as ORDER_INTAKE_SATURATED, and accepted once they are decided', async () => {
    const client = await orderClientAs('gateway', url);
    // Nobody answers these sagas (no inventory here), so they stay open until their timeout.
    for (let i = 0; i < maxOpenSagas; i++) await client.placeOrder(anOrder());

    const refused = await eventuallyRefused(client);

    expect(refused.code).toBe('ORDER_INTAKE_SATURATED');
    expect(refused.kind).toBe('unavailable');
    // The saga timeout decides them (TIMED_OUT); then intake opens again.
    await eventually(
      async () => expect((await client.placeOrder(anOrder())).order?.orderId).toBeTruthy(),
      { timeoutMs: 10_000 },
    );
  });
});

describe('intake backpressure by age', () => {
  const ageConfig = testServiceConfig('order', orderConfigSchema, {
    service: {
      maxOpenSagas: 1000,
      maxOpenSagaAgeMs: 300,
      openSagaCountIntervalMs: 20,
      sagaTimeoutMs: 2000,
      sagaSweepIntervalMs: 50,
    },
  });
  let ageRuntime: ServiceRuntime;
  let ageUrl: string;
  beforeAll(async () => {
    ({ runtime: ageRuntime, url: ageUrl } = await startTestService(orderService, {
      config: ageConfig,
    }));
  });
  afterAll(async () => {
    await ageRuntime?.stop();
    await dropTestDatabase(ageConfig.platform.postgres.url, ageConfig.service.database);
  });

  test('when the oldest open saga has waited longer than allowed, then new orders are refused until it is decided', async () => {
    const client = await orderClientAs('gateway', ageUrl);
    await client.placeOrder(anOrder());

    const refused = await eventuallyRefused(client);

    expect(refused.code).toBe('ORDER_INTAKE_SATURATED');
    await eventually(
      async () => expect((await client.placeOrder(anOrder())).order?.orderId).toBeTruthy(),
      { timeoutMs: 15_000 },
    );
  });
});
