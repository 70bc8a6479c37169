import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createRpcClient, type ServiceRuntime } from '@orderly/platform';
import {
  callEveryMethod,
  callOutcome,
  dropTestDatabase,
  startTestService,
  testCaller,
  testServiceConfig,
  testWorkloadIdentity,
} from '@orderly/platform/testing';
import { orderConfigSchema, orderService } from '../src/service.js';
import { OrderService } from '@orderly/order-contract/order_service';
import { orderClientAs } from './order-clients.js';

/**
 * Issue 13 item 3: every OrderService RPC needs a workload identity on its allowlist
 * (services.order.rpcCallers), customer reads need a customer, and operator endpoints live on the
 * operator port only.
 */
const config = testServiceConfig('order', orderConfigSchema);
let runtime: ServiceRuntime;
let url: string;

beforeAll(async () => {
  ({ runtime, url } = await startTestService(orderService, { config }));
});

afterAll(async () => {
  await runtime?.stop();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
});

const everyMethod = OrderService.methods.map((m) => m.name);

describe('callers of the order service', () => {
  test('when any RPC is called without a service token, then it is UNAUTHENTICATED with CALLER_UNAUTHENTICATED', async () => {
    const outcomes = await callEveryMethod(OrderService, url);
    for (const method of everyMethod)
      expect(outcomes[method], method).toEqual({
        code: 'unauthenticated',
        errorCode: 'CALLER_UNAUTHENTICATED',
      });
  });

  test('when any RPC is called by a service on no allowlist (payment), then it is PERMISSION_DENIED with CALLER_NOT_ALLOWED', async () => {
    const outcomes = await callEveryMethod(OrderService, url, await testCaller('payment', 'order'));
    for (const method of everyMethod)
      expect(outcomes[method], method).toEqual({
        code: 'permission_denied',
        errorCode: 'CALLER_NOT_ALLOWED',
      });
  });

  test('when a token was signed for another service (inventory), then the order service refuses it as UNAUTHENTICATED', async () => {
    const outcomes = await callEveryMethod(
      OrderService,
      url,
      await testCaller('gateway', 'inventory'),
    );
    for (const method of everyMethod)
      expect(outcomes[method], method).toEqual({
        code: 'unauthenticated',
        errorCode: 'CALLER_UNAUTHENTICATED',
      });
  });

  test('when the token is forged (signature changed), then it is UNAUTHENTICATED', async () => {
    const token = await (await testWorkloadIdentity('gateway')).tokenFor('order');
    const forged = `${token.slice(0, -4)}${token.endsWith('AAAA') ? 'BBBB' : 'AAAA'}`;
    const client = createRpcClient(OrderService, { baseUrl: url, defaultTimeoutMs: 5000 });
    const outcome = await callOutcome(
      client.getOrder(
        { orderId: randomUUID(), customerId: 'c' },
        { headers: { authorization: `Bearer ${forged}` } },
      ),
    );
    expect(outcome).toEqual({ code: 'unauthenticated', errorCode: 'CALLER_UNAUTHENTICATED' });
  });

  test('when the gateway and the operator call, then each reaches exactly the methods it is allowed (order intake, customer reads and cancels and the admin search for the gateway, GetOrderForOperator for the operator)', async () => {
    const gateway = await callEveryMethod(OrderService, url, await testCaller('gateway', 'order'));
    const operator = await callEveryMethod(
      OrderService,
      url,
      await testCaller('operator', 'order'),
    );
    const allowed = (outcomes: Record<string, { errorCode?: string }>) =>
      everyMethod.filter((m) => !outcomes[m]?.errorCode?.startsWith('CALLER_'));
    expect(allowed(gateway)).toEqual(
      expect.arrayContaining([
        'PlaceOrder',
        'PlaceOrders',
        'GetOrder',
        'ListOrders',
        'CancelOrder',
        'SearchOrders',
      ]),
    );
    expect(allowed(operator)).toEqual(['GetOrderForOperator']);
  });
});

describe('customer scoping', () => {
  test('when GetOrder, ListOrders or CancelOrder comes without a customer id, then it is INVALID_ARGUMENT with CUSTOMER_ID_REQUIRED', async () => {
    const client = await orderClientAs('gateway', url);
    const { order } = await client.placeOrder({
      customerId: 'owner',
      idempotencyKey: randomUUID(),
      lines: [{ sku: 'SKU-A', quantity: 1 }],
      paymentMethod: 'pm_card_ok',
    });
    const expected = { code: 'invalid_argument', errorCode: 'CUSTOMER_ID_REQUIRED' };
    expect(await callOutcome(client.getOrder({ orderId: order!.orderId }))).toEqual(expected);
    expect(await callOutcome(client.listOrders({}))).toEqual(expected);
    expect(
      await callOutcome(client.cancelOrder({ orderId: order!.orderId, idempotencyKey: 'k' })),
    ).toEqual(expected);
    const operator = await orderClientAs('operator', url);
    expect(
      (await operator.getOrderForOperator({ orderId: order!.orderId })).order?.customerId,
    ).toBe('owner');
  });
});

describe('operator port', () => {
  test('when Prometheus scrapes, then /metrics answers on the operator port without credentials and not on the RPC port', async () => {
    const scrape = await fetch(`${runtime.operatorUrl}/metrics`);
    expect(scrape.status).toBe(200);
    expect(await scrape.text()).toContain('orderly_config_info');
    expect(runtime.operatorUrl).not.toBe(url);
    expect((await fetch(`${url}/metrics`)).status).toBe(404);
  });

  test('when the dead letters are asked for on the RPC port, then it is 404; on the operator port only the operator gets them', async () => {
    expect((await fetch(`${url}/admin/dead-letters`)).status).toBe(404);
    expect((await fetch(`${url}/admin/dead-letters/redrive`, { method: 'POST' })).status).toBe(404);
    const admin = `${runtime.operatorUrl}/admin/dead-letters`;
    const anonymous = await fetch(admin);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ error: { code: 'CALLER_UNAUTHENTICATED' } });
    // The gateway is a console caller (workloadIdentity.consoleCallers: it serves the admin console's
    // dead-letter page to authenticated admins); any other workload is still refused.
    const inventory = await testWorkloadIdentity('inventory');
    const notOperator = await fetch(`${admin}/redrive`, {
      method: 'POST',
      headers: { authorization: await inventory.authorization('order') },
    });
    expect(notOperator.status).toBe(403);
    expect(await notOperator.json()).toMatchObject({ error: { code: 'CALLER_NOT_ALLOWED' } });
    const operator = await testWorkloadIdentity('operator');
    const listed = await fetch(admin, {
      headers: { authorization: await operator.authorization('order') },
    });
    expect(listed.status).toBe(200);
    expect(await listed.json()).toEqual({ deadLetters: [] });
    const redriven = await fetch(`${admin}/redrive`, {
      method: 'POST',
      headers: { authorization: await operator.authorization('order') },
    });
    expect(await redriven.json()).toEqual({ redriven: 0 });
  });
});
