import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { createRpcClient } from '@orderly/platform';
import {
  startTestService,
  testCaller,
  testWorkloadKeysDir,
  type TestService,
} from '@orderly/platform/testing';
import { orderService, type OrderConfig } from '@orderly/order';
import { OrderService } from '@orderly/order-contract/order_service';
import { runOrdersCommand } from '../src/orders-command.js';

/** `orderly orders get` looks any order up as the operator (GetOrderForOperator), not as a customer. */
let order: TestService<OrderConfig>;
let url: string;
const savedKeysDir = process.env.ORDERLY_WORKLOAD_IDENTITY__KEYS_DIR;

beforeAll(async () => {
  // The CLI finds its operator key where the test's services find theirs.
  process.env.ORDERLY_WORKLOAD_IDENTITY__KEYS_DIR = testWorkloadKeysDir;
  order = await startTestService(orderService);
  ({ url } = order);
});

afterAll(async () => {
  if (savedKeysDir === undefined) delete process.env.ORDERLY_WORKLOAD_IDENTITY__KEYS_DIR;
  else process.env.ORDERLY_WORKLOAD_IDENTITY__KEYS_DIR = savedKeysDir;
  await order?.stop();
});

test("when an operator asks for any customer's order, then the CLI prints it; an unknown id is ORDER_NOT_FOUND", async () => {
  const gateway = createRpcClient(OrderService, {
    baseUrl: url,
    defaultTimeoutMs: 5000,
    identity: await testCaller('gateway', 'order'),
  });
  const { order } = await gateway.placeOrder({
    customerId: 'someone',
    idempotencyKey: randomUUID(),
    lines: [{ sku: 'SKU-A', quantity: 2 }],
    paymentMethod: 'pm_card_ok',
  });
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => out.push(t), err: (t: string) => err.push(t) };
  expect(
    await runOrdersCommand('get', [order!.orderId, '--url', url, '--json'], io),
    err.join(''),
  ).toBe(0);
  expect(JSON.parse(out.join(''))).toMatchObject({
    orderId: order!.orderId,
    customerId: 'someone',
    status: 'ORDER_STATUS_PENDING',
  });
  expect(await runOrdersCommand('get', [randomUUID(), '--url', url], io)).toBe(1);
  expect(err.join('')).toContain('ORDER_NOT_FOUND');
});
