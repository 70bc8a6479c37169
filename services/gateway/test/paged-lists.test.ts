import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { OrderStatus } from '@orderly/order-contract/order_service';
import { adminToken } from './fake-identity.js';
import {
  asCustomer,
  bearer,
  orderHeaders,
  postOrder,
  send,
  startTestGateway,
  type TestGateway,
} from './test-gateway.js';

/** ?limit= and ?cursor= on every list, and the admin order search, against fake services. */
let gateway: TestGateway;
let alice: Record<string, string>;
let admin: Record<string, string>;
beforeAll(async () => {
  gateway = await startTestGateway({
    inventory: {
      listProducts: (request) => ({
        products: [],
        nextCursor: request.cursor === '' ? `after-${request.limit}` : '',
      }),
    },
  });
  alice = await asCustomer('alice');
  admin = bearer(await adminToken());
  for (let i = 0; i < 5; i++) await postOrder(gateway.url, undefined, orderHeaders(alice));
});
afterAll(async () => {
  await gateway.stop();
});

const get = (path: string, headers: Record<string, string> = {}) =>
  send(gateway.url, { path, headers });

interface Page {
  orders: { orderId: string; customerId?: string }[];
  next?: string;
}

describe('GET /v1/orders pages', () => {
  test('when a customer follows next, then the pages hold every order once and the last one has no next', async () => {
    const ids: string[] = [];
    let path = '/v1/orders?limit=2';
    for (;;) {
      const response = await get(path, alice);
      expect(response.status).toBe(200);
      const page = response.json() as Page;
      ids.push(...page.orders.map((o) => o.orderId));
      if (!page.next) break;
      path = `/v1/orders?limit=2&cursor=${encodeURIComponent(page.next)}`;
    }
    expect(ids).toHaveLength(5);
    expect(new Set(ids).size).toBe(5);
  });

  test('when the cursor is not one the list gave out, then it is 400 CURSOR_INVALID; an overlong one or a bad limit is 400 VALIDATION_FAILED', async () => {
    const bad = await get('/v1/orders?cursor=not-ours', alice);
    expect(bad.status).toBe(400);
    expect(bad.json()).toMatchObject({ error: { code: 'CURSOR_INVALID' } });
    for (const query of [
      `cursor=${'x'.repeat(513)}`,
      'cursor=',
      'limit=0',
      'limit=101',
      'limit=2x',
    ])
      expect((await get(`/v1/orders?${query}`, alice)).json(), query).toMatchObject({
        error: { code: 'VALIDATION_FAILED' },
      });
  });
});

describe('GET /v1/products pages', () => {
  test('when limit and cursor are given, then they reach the inventory service and its next comes back', async () => {
    const first = await get('/v1/products?limit=7');
    expect(first.status).toBe(200);
    expect(first.json()).toEqual({ products: [], next: 'after-7' });
    const last = await get('/v1/products?cursor=after-7');
    expect(last.json()).toEqual({ products: [] });
  });
});

describe('GET /v1/admin/orders', () => {
  test('when an admin searches, then the filters reach the order service and the orders come with their customer', async () => {
    const from = '2026-01-01T00:00:00.000Z';
    const to = '2026-02-01T00:00:00.000Z';
    const response = await get(
      `/v1/admin/orders?status=PENDING&customer=alice&from=${from}&to=${to}&limit=3`,
      admin,
    );
    expect(response.status).toBe(200);
    const page = response.json() as Page;
    expect(page.orders).toHaveLength(3);
    expect(page.orders.every((o) => o.customerId === 'alice')).toBe(true);
    expect(page.next).toEqual(expect.any(String));
    const call = gateway.orders.calls.searchOrders.at(-1)!;
    expect(call).toMatchObject({ status: OrderStatus.PENDING, customerId: 'alice', limit: 3 });
    expect(timestampDate(call.placedFrom!).toISOString()).toBe(from);
    expect(timestampDate(call.placedTo!).toISOString()).toBe(to);
  });

  test('when no filter is given, then every order is searched, newest first, a page of the maximum at a time', async () => {
    const response = await get('/v1/admin/orders', admin);
    expect((response.json() as Page).orders).toHaveLength(5);
    expect(gateway.orders.calls.searchOrders.at(-1)).toMatchObject({
      status: OrderStatus.UNSPECIFIED,
      customerId: '',
      limit: 100,
      cursor: '',
    });
  });

  test('when a customer or nobody asks, then it is 403 or 401 and the order service is not called', async () => {
    const calls = gateway.orders.calls.searchOrders.length;
    const customer = await get('/v1/admin/orders', alice);
    const anonymous = await get('/v1/admin/orders');
    expect(customer.status).toBe(403);
    expect(customer.json()).toMatchObject({ error: { code: 'AUTH_FORBIDDEN' } });
    expect(anonymous.status).toBe(401);
    expect(gateway.orders.calls.searchOrders).toHaveLength(calls);
  });

  test('when a filter is malformed or the window is backwards, then it is 400 VALIDATION_FAILED', async () => {
    for (const query of [
      'status=LOST',
      'customer=a%20b',
      'from=yesterday',
      'from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      'from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z',
      'unknown=1',
    ]) {
      const response = await get(`/v1/admin/orders?${query}`, admin);
      expect(response.status, query).toBe(400);
      expect(response.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    }
  });
});
