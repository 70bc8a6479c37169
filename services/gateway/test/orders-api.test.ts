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

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway.stop();
});

interface OrderBody {
  orderId: string;
  status: string;
  lines: unknown[];
  totalCents: number;
  paymentMethod?: string;
  placedAt: string;
  history: { status: string; at: string }[];
}

describe('POST /v1/orders', () => {
  test('when the order is valid, then it is accepted as PENDING with a Location and PlaceOrder gets the request', async () => {
    const headers = orderHeaders(await asCustomer('cust-a'));

    const response = await postOrder(gateway.url, validBody, headers);

    expect(response.status).toBe(202);
    const order = response.json() as OrderBody;
    expect(order).toMatchObject({
      status: 'PENDING',
      lines: [{ sku: 'SKU-1', quantity: 2, unitPriceCents: 0 }],
      totalCents: 0,
      paymentMethod: 'pm_card_ok',
      history: [{ status: 'PENDING' }],
    });
    expect(new Date(order.placedAt).toISOString()).toBe(order.placedAt);
    expect(response.headers.location).toBe(`/v1/orders/${order.orderId}`);
    expect(response.headers['idempotent-replayed']).toBeUndefined();
    expect(gateway.orders.calls.placeOrder.at(-1)).toMatchObject({
      customerId: 'cust-a',
      idempotencyKey: headers['idempotency-key'],
      lines: [{ sku: 'SKU-1', quantity: 2 }],
      paymentMethod: 'pm_card_ok',
    });
  });

  test('when the same key is sent again with the same body, then the same order is answered as a replay', async () => {
    const headers = orderHeaders();
    const first = await postOrder(gateway.url, validBody, headers);

    const second = await postOrder(gateway.url, validBody, headers);

    expect(second.status).toBe(202);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect((second.json() as OrderBody).orderId).toBe((first.json() as OrderBody).orderId);
    expect(second.headers.location).toBe(first.headers.location);
  });

  test('when the same key is sent with a different body, then it is 409 with the order service code', async () => {
    const headers = orderHeaders();
    await postOrder(gateway.url, validBody, headers);

    const response = await postOrder(
      gateway.url,
      { ...validBody, lines: [{ sku: 'SKU-1', quantity: 3 }] },
      headers,
    );

    expect(response.status).toBe(409);
    expect(response.json()).toEqual({
      error: { code: 'ORDER_IDEMPOTENCY_KEY_REUSED', message: expect.any(String) as unknown },
    });
  });
});

describe('GET /v1/orders/{orderId}', () => {
  test('when the order belongs to the customer, then it is answered with its history', async () => {
    const placed = (
      await postOrder(gateway.url, validBody, orderHeaders(await asCustomer('cust-b')))
    ).json() as OrderBody;

    const response = await send(gateway.url, {
      path: `/v1/orders/${placed.orderId}`,
      headers: await asCustomer('cust-b'),
    });

    expect(response.status).toBe(200);
    expect(response.json()).toEqual(placed);
  });

  test("when the order is another customer's, then it is 404 ORDER_NOT_FOUND", async () => {
    const placed = (
      await postOrder(gateway.url, validBody, orderHeaders(await asCustomer('cust-c')))
    ).json() as OrderBody;

    const response = await send(gateway.url, {
      path: `/v1/orders/${placed.orderId}`,
      headers: await asCustomer('cust-d'),
    });

    expect(response.status).toBe(404);
    expect(response.json()).toEqual({
      error: { code: 'ORDER_NOT_FOUND', message: 'order not found' },
    });
  });

  test('when the id is unknown or malformed, then both answers are the same 404 and a malformed id never reaches the order service', async () => {
    const callsBefore = gateway.orders.calls.getOrder;
    const unknown = await send(gateway.url, {
      path: `/v1/orders/${randomUUID()}`,
      headers: await asCustomer('c'),
    });
    const malformed = await send(gateway.url, {
      path: '/v1/orders/not-a-uuid',
      headers: await asCustomer('c'),
    });

    expect(unknown.status).toBe(404);
    expect(malformed.status).toBe(404);
    expect(malformed.json()).toEqual(unknown.json());
    expect(gateway.orders.calls.getOrder).toBe(callsBefore + 1);
  });

  test('when there is no access token, then it is 401 AUTH_TOKEN_MISSING with WWW-Authenticate: Bearer', async () => {
    const response = await send(gateway.url, { path: `/v1/orders/${randomUUID()}` });

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json()).toMatchObject({ error: { code: 'AUTH_TOKEN_MISSING' } });
  });

  test('when only the retired X-Customer-Id header names a customer, then it is ignored: 401', async () => {
    const response = await send(gateway.url, {
      path: `/v1/orders/${randomUUID()}`,
      headers: { 'x-customer-id': 'cust-b' },
    });

    expect(response.status).toBe(401);
    expect(response.json()).toMatchObject({ error: { code: 'AUTH_TOKEN_MISSING' } });
  });
});

describe('GET /v1/orders', () => {
  test('when the customer has orders, then only theirs are listed, newest first, limited by ?limit', async () => {
    const customer = `cust-${randomUUID().slice(0, 8)}`;
    const first = (
      await postOrder(gateway.url, validBody, orderHeaders(await asCustomer(customer)))
    ).json() as OrderBody;
    const second = (
      await postOrder(gateway.url, validBody, orderHeaders(await asCustomer(customer)))
    ).json() as OrderBody;
    await postOrder(gateway.url, validBody, orderHeaders(await asCustomer('someone-else')));

    const all = await send(gateway.url, {
      path: '/v1/orders',
      headers: await asCustomer(customer),
    });
    const limited = await send(gateway.url, {
      path: '/v1/orders?limit=1',
      headers: await asCustomer(customer),
    });

    expect(all.status).toBe(200);
    expect((all.json() as { orders: OrderBody[] }).orders.map((o) => o.orderId)).toEqual([
      second.orderId,
      first.orderId,
    ]);
    expect(limited.status).toBe(200);
    expect((limited.json() as { orders: OrderBody[] }).orders.map((o) => o.orderId)).toEqual([
      second.orderId,
    ]);
    expect(gateway.orders.calls.listOrders.slice(-2)).toEqual([100, 1]);
  });

  test.each(['0', '101', 'abc', '1.5', '-1', '1&limit=2', '1e2'])(
    'when ?limit=%s, then it is 400 VALIDATION_FAILED',
    async (limit) => {
      const response = await send(gateway.url, {
        path: `/v1/orders?limit=${limit}`,
        headers: await asCustomer('c'),
      });

      expect(response.status).toBe(400);
      expect((response.json() as { error: { code: string } }).error.code).toBe('VALIDATION_FAILED');
    },
  );

  test('when an unknown query parameter is sent, then it is 400 VALIDATION_FAILED', async () => {
    const response = await send(gateway.url, {
      path: '/v1/orders?page=2',
      headers: await asCustomer('c'),
    });

    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
  });
});

describe('GET /v1/products', () => {
  test('when the catalog is listed, then each product has sku, name, priceCents as a number and available', async () => {
    const response = await send(gateway.url, { path: '/v1/products' });

    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      products: [
        { sku: 'SKU-1', name: 'Blue mug', priceCents: 1250, available: 10 },
        { sku: 'SKU-2', name: 'Red kettle', priceCents: 4999, available: 0 },
      ],
    });
  });
});
