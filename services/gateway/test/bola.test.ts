import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  asCustomer,
  orderHeaders,
  postOrder,
  send,
  startTestGateway,
  validBody,
  type TestGateway,
} from './test-gateway.js';

/**
 * Broken object-level authorization: customer A tries every order route on customer B's order.
 * Whatever A does, B's order is neither shown nor confirmed to exist (404, like an unknown id),
 * and A cannot act as B by naming B anywhere in the request.
 */
let gateway: TestGateway;
let alice: Record<string, string>;
let bob: Record<string, string>;
let bobsOrder: { orderId: string };
let bobsKey: string;
beforeAll(async () => {
  gateway = await startTestGateway();
  alice = await asCustomer('alice-0001');
  bob = await asCustomer('bob-0002');
  bobsKey = `bob-key-${randomUUID()}`;
  const placed = await postOrder(
    gateway.url,
    validBody,
    orderHeaders({ ...bob, 'idempotency-key': bobsKey }),
  );
  expect(placed.status).toBe(202);
  bobsOrder = placed.json() as { orderId: string };
});
afterAll(async () => {
  await gateway.stop();
});

describe('customer A on customer B’s order', () => {
  test('when A reads B’s order, then it is 404 ORDER_NOT_FOUND exactly like an unknown id', async () => {
    const theirs = await send(gateway.url, {
      path: `/v1/orders/${bobsOrder.orderId}`,
      headers: alice,
    });
    const unknown = await send(gateway.url, { path: `/v1/orders/${randomUUID()}`, headers: alice });

    expect(theirs.status).toBe(404);
    expect(theirs.json()).toEqual(unknown.json());
    expect(theirs.text).not.toContain(bobsOrder.orderId);
  });

  test('when A reads B’s order with the id in another case, with a trailing slash or encoded, then it is 404 too', async () => {
    for (const path of [
      `/v1/orders/${bobsOrder.orderId.toUpperCase()}`,
      `/v1/orders/${bobsOrder.orderId}/`,
      `/v1/orders/${encodeURIComponent(bobsOrder.orderId)}`,
      `/v1/orders/${bobsOrder.orderId}?customerId=bob-0002`,
    ]) {
      const response = await send(gateway.url, { path, headers: alice });
      expect(response.status, path).toBeGreaterThanOrEqual(400);
      expect(response.status, path).toBeLessThan(500);
      expect(response.text, path).not.toContain('pm_card_ok');
    }
  });

  test('when A lists orders, then B’s order is not among them, and naming B in the query is 400', async () => {
    const list = await send(gateway.url, { path: '/v1/orders', headers: alice });
    const asBob = await send(gateway.url, {
      path: '/v1/orders?customerId=bob-0002',
      headers: alice,
    });

    expect(list.status).toBe(200);
    expect(list.text).not.toContain(bobsOrder.orderId);
    expect(asBob.status).toBe(400);
    expect(asBob.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });

  test('when A places an order whose body names B as the customer, then it is 400 and nothing is placed', async () => {
    const before = gateway.orders.calls.placeOrder.length;
    for (const field of ['customerId', 'customer_id', 'customer', 'userId', 'sub']) {
      const response = await postOrder(
        gateway.url,
        { ...validBody, [field]: 'bob-0002' },
        orderHeaders(alice),
      );
      expect(response.status, field).toBe(400);
      expect(response.json(), field).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
    expect(gateway.orders.calls.placeOrder.length).toBe(before);
  });

  test('when A replays B’s idempotency key, then A gets an order of A’s own, never B’s', async () => {
    const response = await postOrder(
      gateway.url,
      validBody,
      orderHeaders({ ...alice, 'idempotency-key': bobsKey }),
    );

    expect(response.status).toBe(202);
    expect((response.json() as { orderId: string }).orderId).not.toBe(bobsOrder.orderId);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(gateway.orders.calls.placeOrder.at(-1)?.customerId).toBe('alice-0001');
  });

  test('when A sends X-Customer-Id: B next to A’s token, then the header is ignored and B’s order stays hidden', async () => {
    const response = await send(gateway.url, {
      path: `/v1/orders/${bobsOrder.orderId}`,
      headers: { ...alice, 'x-customer-id': 'bob-0002' },
    });
    expect(response.status).toBe(404);
  });

  test('when B reads the order, then it is there (the control case)', async () => {
    const response = await send(gateway.url, {
      path: `/v1/orders/${bobsOrder.orderId}`,
      headers: bob,
    });
    expect(response.status).toBe(200);
  });
});
