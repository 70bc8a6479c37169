import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { Client } from '@connectrpc/connect';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { encodePageCursor, type ServiceRuntime } from '@orderly/platform';
import {
  callOutcome,
  dropTestDatabase,
  startTestService,
  testServiceConfig,
} from '@orderly/platform/testing';
import { OrderStatus, type OrderService } from '@orderly/order-contract/order_service';
import { orderConfigSchema, orderService } from '../src/service.js';
import { orderClientAs } from './order-clients.js';

/** Issue 20 item 6: keyset pages of a customer's orders and of the admin search. */
const config = testServiceConfig('order', orderConfigSchema);
let runtime: ServiceRuntime;
let client: Client<typeof OrderService>;

beforeAll(async () => {
  let url: string;
  ({ runtime, url } = await startTestService(orderService, { config }));
  client = await orderClientAs('gateway', url);
});

afterAll(async () => {
  await runtime?.stop();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
});

const request = (customerId: string) => ({
  customerId,
  idempotencyKey: randomUUID(),
  lines: [{ sku: 'SKU-A', quantity: 1 }],
  paymentMethod: 'pm_card_ok',
});

/** Places `count` orders in one PlaceOrders call: they share one transaction and one placed_at. */
async function placeBatch(customerId: string, count: number): Promise<string[]> {
  const { results } = await client.placeOrders({
    orders: Array.from({ length: count }, () => ({ order: request(customerId) })),
  });
  return results.map((r) => {
    if (r.outcome.case !== 'placed') throw new Error(`not placed: ${JSON.stringify(r.outcome)}`);
    return r.outcome.value.order!.orderId;
  });
}

describe('ListOrders pages', () => {
  test('when orders are placed while a customer pages, then every order that existed before appears exactly once, newest first, and none repeats', async () => {
    // Arrange: 12 orders, most of them sharing their placement time (one batch = one timestamp).
    const customerId = `pager-${randomUUID()}`;
    const before = [...(await placeBatch(customerId, 7)), ...(await placeBatch(customerId, 5))];

    // Act: page 3 at a time, placing 2 more orders before each next page.
    const seen: string[] = [];
    let cursor = '';
    let pages = 0;
    do {
      const page = await client.listOrders({ customerId, limit: 3, cursor });
      seen.push(...page.orders.map((o) => o.orderId));
      cursor = page.nextCursor;
      pages++;
      if (cursor) await placeBatch(customerId, 2);
    } while (cursor && pages < 50);

    // Assert
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((id) => before.includes(id)).sort()).toEqual([...before].sort());
    expect(seen.filter((id) => !before.includes(id))).toEqual([]);
    expect(pages).toBe(4);
  });

  test('when the last page is read, then it has no next cursor; a page size above the maximum gets the maximum', async () => {
    const customerId = `short-${randomUUID()}`;
    const ids = await placeBatch(customerId, 3);
    const page = await client.listOrders({ customerId, limit: 3, cursor: '' });
    expect(page.orders.map((o) => o.orderId).sort()).toEqual([...ids].sort());
    expect(page.nextCursor).toBe('');
    const all = await client.listOrders({ customerId, limit: 10_000, cursor: '' });
    expect(all.orders).toHaveLength(3);
  });

  test('when a cursor was not given out by an order list, then it is INVALID_ARGUMENT with CURSOR_INVALID', async () => {
    const customerId = `bad-${randomUUID()}`;
    const bad = [
      'garbage!',
      'bm90LWpzb24',
      encodePageCursor('products', ['SKU-A']),
      encodePageCursor('orders', ['2026-01-01T00:00:00.000000Z', 'not-a-uuid']),
      encodePageCursor('orders', ['yesterday', randomUUID()]),
      encodePageCursor('orders', ['2026-01-01T00:00:00.000000Z']),
    ];
    for (const cursor of bad)
      expect(
        await callOutcome(client.listOrders({ customerId, limit: 2, cursor })),
        cursor,
      ).toEqual({ code: 'invalid_argument', errorCode: 'CURSOR_INVALID' });
  });

  test("when a cursor from another customer's list is used, then it only says where to continue: the list stays the caller's own", async () => {
    const alice = `alice-${randomUUID()}`;
    const mallory = `mallory-${randomUUID()}`;
    await placeBatch(alice, 3);
    await placeBatch(mallory, 1);
    const alicePage = await client.listOrders({ customerId: alice, limit: 1, cursor: '' });
    const page = await client.listOrders({
      customerId: mallory,
      limit: 10,
      cursor: alicePage.nextCursor,
    });
    expect(page.orders.map((o) => o.customerId)).not.toContain(alice);
    expect(page.orders.every((o) => o.customerId === mallory)).toBe(true);
  });
});

describe('SearchOrders', () => {
  test('when the admin searches by status, customer and time, then only matching orders come back, paged newest first', async () => {
    const customerId = `searched-${randomUUID()}`;
    const from = new Date();
    const first = await placeBatch(customerId, 3);
    const cancelled = first[0]!;
    await client.cancelOrder({ orderId: cancelled, customerId, idempotencyKey: 'k' });
    const second = await placeBatch(customerId, 2);
    const to = new Date(Date.now() + 1000);

    const byCustomer: string[] = [];
    let cursor = '';
    do {
      const page = await client.searchOrders({ customerId, limit: 2, cursor });
      byCustomer.push(...page.orders.map((o) => o.orderId));
      cursor = page.nextCursor;
    } while (cursor);
    expect(byCustomer.slice(0, 2).sort()).toEqual([...second].sort());
    expect(byCustomer.sort()).toEqual([...first, ...second].sort());

    const onlyCancelled = await client.searchOrders({
      customerId,
      status: OrderStatus.CANCELLED,
      limit: 10,
    });
    expect(onlyCancelled.orders.map((o) => o.orderId)).toEqual([cancelled]);

    const inWindow = await client.searchOrders({
      status: OrderStatus.PENDING,
      placedFrom: timestampFromDate(from),
      placedTo: timestampFromDate(to),
      limit: 100,
    });
    const ours = inWindow.orders.filter((o) => o.customerId === customerId);
    expect(ours.map((o) => o.orderId).sort()).toEqual([...first.slice(1), ...second].sort());
    const before = await client.searchOrders({
      customerId,
      placedTo: timestampFromDate(from),
      limit: 10,
    });
    expect(before.orders).toEqual([]);
  });

  test('when the time window is empty or backwards, then it is INVALID_ARGUMENT', async () => {
    const at = timestampFromDate(new Date());
    expect(await callOutcome(client.searchOrders({ placedFrom: at, placedTo: at }))).toEqual({
      code: 'invalid_argument',
      errorCode: 'ORDER_INVALID',
    });
  });
});
