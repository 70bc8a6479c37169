import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { createRpcClient } from '@orderly/platform';
import { MemoryBus, fromRpcError, type ServiceRuntime } from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  startTestService,
  testLiveConfig,
} from '@orderly/platform/testing';
import { orderConfigSchema, orderService } from '../src/service.js';
import type { OrderService } from '@orderly/order-contract/order_service';
import { CancellationReason, OrderStatus } from '@orderly/order-contract/order_service';
import { orderClientAs } from './order-clients.js';

/**
 * The order service follows its configuration file (the saga timeout is read at use time) and the
 * RPC fault injection flags, without a restart.
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-order-live-'));
const configFile = join(dir, 'order.yaml');
const flagsFile = join(dir, 'flags.json');
const orderYaml = (sagaTimeoutMs: number) =>
  `configReload:\n  debounceMs: 20\n  pollIntervalMs: 100\nservices:\n  order:\n    sagaTimeoutMs: ${sagaTimeoutMs}\n    sagaSweepIntervalMs: 50\n`;
const writeFlags = (errorRate: number) =>
  writeFileSync(
    flagsFile,
    JSON.stringify({
      $schema: 'https://flagd.dev/schema/v0/flags.json',
      flags: {
        'fault-error-rate': {
          state: 'ENABLED',
          variants: { current: errorRate },
          defaultVariant: 'current',
        },
      },
    }),
  );
writeFileSync(configFile, orderYaml(600_000));
writeFlags(0);

const live = testLiveConfig('order', orderConfigSchema, configFile, {
  platform: { flags: { file: flagsFile } },
});
const bus = new MemoryBus();
let runtime: ServiceRuntime;
let client: ReturnType<typeof createRpcClient<typeof OrderService>>;
let operator: ReturnType<typeof createRpcClient<typeof OrderService>>;

beforeAll(async () => {
  let url: string;
  ({ runtime, url } = await startTestService(orderService, { config: live.live, bus }));
  client = await orderClientAs('gateway', url);
  operator = await orderClientAs('operator', url);
});
afterAll(async () => {
  await runtime?.stop();
  live.close();
  await dropTestDatabase(live.live.platform.postgres.url, live.live.service.database);
  rmSync(dir, { recursive: true, force: true });
});

const placeOrder = () =>
  client.placeOrder({
    customerId: 'live-config',
    idempotencyKey: randomUUID(),
    lines: [{ sku: 'SKU-A', quantity: 1 }],
    paymentMethod: 'pm_card_ok',
  });

describe('order service configuration and flags at run time', () => {
  test('when sagaTimeoutMs is lowered in the file, then an open saga times out without a restart', async () => {
    const { order } = await placeOrder();
    const orderId = order!.orderId;
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await operator.getOrderForOperator({ orderId })).order?.status).toBe(
      OrderStatus.PENDING,
    );

    writeFileSync(configFile, orderYaml(300));

    await eventually(async () => {
      const { order: now } = await operator.getOrderForOperator({ orderId });
      expect(now?.status).toBe(OrderStatus.CANCELLED);
      expect(now?.cancellationReason).toBe(CancellationReason.TIMED_OUT);
    });
    expect(live.live.service.sagaTimeoutMs).toBe(300);
  });

  test('when fault-error-rate is 100, then RPCs fail as unavailable with FAULT_INJECTED; at 0 they work again', async () => {
    await new Promise((resolve) => setTimeout(resolve, 1000)); // the flags file source's first stat is asynchronous
    const changed = new Promise((resolve) => runtime.flags.onChange(resolve));
    writeFlags(100);
    await changed;

    const error = await placeOrder().then(
      () => undefined,
      (e: unknown) => fromRpcError(e, 'order.PlaceOrder'),
    );
    expect(error).toMatchObject({ code: 'FAULT_INJECTED', kind: 'unavailable' });

    writeFlags(0);
    await eventually(
      async () => expect((await placeOrder()).order?.status).toBe(OrderStatus.PENDING),
      { timeoutMs: 20_000 },
    );
  });
});
