import { randomBytes } from 'node:crypto';
import { eventually } from '@orderly/platform/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { checkInvariants } from './invariants.js';
import { customerToken, DistributedSystem, e2eAdmin, logIn } from './system-harness.js';

/**
 * Issue 20 item 6 across real processes (PostgreSQL, NATS JetStream): a customer cancels an order
 * before its payment and after its confirmation, through the gateway; lists are paged; the admin
 * searches.
 */
const id = randomBytes(3).toString('hex');
const sku = 'E2E-CANCEL';
const stock = 50;
const price = 700;
let system: DistributedSystem;
let gateway: string;
let admin: string;
const accepted: string[] = [];

beforeAll(async () => {
  system = await DistributedSystem.start();
  gateway = system.url('gateway');
  admin = await logIn(gateway, e2eAdmin);
  await call('POST', '/v1/admin/products', admin, {
    body: { sku, name: 'Cancellable', priceCents: price },
  });
  await call('POST', '/v1/admin/stock', admin, { body: { sku, delta: stock } });
}, 120_000);

afterAll(async () => {
  await system?.stop();
  await system?.cleanup();
});

interface OrderJson {
  orderId: string;
  status: string;
  cancellationReason?: string;
  history: { status: string }[];
  customerId?: string;
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  token: string | undefined,
  init: { body?: unknown; key?: string; base?: string } = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const response = await fetch(`${init.base ?? gateway}${path}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(init.key ? { 'idempotency-key': init.key } : {}),
    },
    ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
    signal: AbortSignal.timeout(15_000),
  });
  const json = (await response.json()) as Record<string, unknown>;
  return { status: response.status, headers: response.headers, json };
}

async function place(token: string, quantity = 2): Promise<string> {
  const placed = await call('POST', '/v1/orders', token, {
    body: { lines: [{ sku, quantity }], paymentMethod: 'pm_card_ok' },
    key: randomBytes(8).toString('hex'),
  });
  expect(placed.status, JSON.stringify(placed.json)).toBe(202);
  const orderId = placed.json.orderId as string;
  accepted.push(orderId);
  return orderId;
}

async function statusOf(token: string, orderId: string): Promise<string> {
  return ((await call('GET', `/v1/orders/${orderId}`, token)).json as unknown as OrderJson).status;
}

const cancel = (token: string, orderId: string, key: string) =>
  call('POST', `/v1/orders/${orderId}/cancel`, token, { key });

async function available(): Promise<number> {
  const [row] = await system.sql<{ available: number }>(
    'inventory',
    'SELECT available FROM products WHERE sku = $1',
    [sku],
  );
  return row?.available ?? -1;
}

describe('a customer cancels an order', () => {
  test('when the payment service is down, the order waits STOCK_RESERVED and its customer cancels, then nothing stays charged and the stock returns once payment is back', async () => {
    const alice = await customerToken(gateway, `alice-${id}`);
    await system.crash('payment');
    const orderId = await place(alice);
    await eventually(async () => expect(await statusOf(alice, orderId)).toBe('STOCK_RESERVED'), {
      timeoutMs: 20_000,
    });

    const cancelled = await cancel(alice, orderId, 'cancel-before-payment');

    expect(cancelled.status).toBe(200);
    expect(cancelled.json).toMatchObject({
      orderId,
      status: 'CANCELLED',
      cancellationReason: 'CUSTOMER_REQUESTED',
    });
    // PaymentRequested waited in the stream beside OrderCancelled: whichever payment applies
    // first, the charge is refused (voided) or refunded.
    await system.restart('payment');
    await eventually(
      async () => {
        const [payment] = await system.sql<{ status: string }>(
          'payment',
          'SELECT status FROM payments WHERE order_id = $1',
          [orderId],
        );
        expect(['VOIDED', 'REFUNDED']).toContain(payment?.status);
      },
      { timeoutMs: 30_000 },
    );
    await eventually(async () => expect(await available()).toBe(stock), { timeoutMs: 20_000 });
  }, 90_000);

  test('when a confirmed order is cancelled, then its capture is refunded and its units return; the same cancel again is the same answer, replayed', async () => {
    const bob = await customerToken(gateway, `bob-${id}`);
    const before = await available();
    const orderId = await place(bob, 3);
    await eventually(async () => expect(await statusOf(bob, orderId)).toBe('CONFIRMED'), {
      timeoutMs: 20_000,
    });
    expect(await available()).toBe(before - 3);

    const first = await cancel(bob, orderId, 'cancel-after-confirmation');
    const again = await cancel(bob, orderId, 'cancel-after-confirmation');
    const otherKey = await cancel(bob, orderId, 'another-key');

    expect(first.status).toBe(200);
    expect((first.json as unknown as OrderJson).history.map((h) => h.status)).toEqual([
      'PENDING',
      'STOCK_RESERVED',
      'CONFIRMED',
      'CANCELLED',
    ]);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(again.status).toBe(200);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.json).toEqual(first.json);
    expect(otherKey.status).toBe(200);
    expect(otherKey.json).toMatchObject({ status: 'CANCELLED' });
    expect(otherKey.headers.get('idempotent-replayed')).toBeNull();
    await eventually(
      async () => {
        const ledger = await system.sql<{ kind: string; amount_cents: string }>(
          'payment',
          'SELECT kind, amount_cents::text FROM provider_ledger WHERE order_id = $1 ORDER BY id',
          [orderId],
        );
        expect(ledger).toEqual([
          { kind: 'capture', amount_cents: String(3 * price) },
          { kind: 'refund', amount_cents: String(3 * price) },
        ]);
      },
      { timeoutMs: 20_000 },
    );
    await eventually(async () => expect(await available()).toBe(before), { timeoutMs: 20_000 });
    const [reservation] = await system.sql<{ status: string }>(
      'inventory',
      'SELECT status FROM reservations WHERE order_id = $1',
      [orderId],
    );
    expect(reservation?.status).toBe('RETURNED');
  }, 60_000);

  test("when someone else's order is cancelled, then it is 404 ORDER_NOT_FOUND and the order is untouched", async () => {
    const carol = await customerToken(gateway, `carol-${id}`);
    const mallory = await customerToken(gateway, `mallory-${id}`);
    const orderId = await place(carol, 1);

    const refused = await cancel(mallory, orderId, 'not-mine');

    expect(refused.status).toBe(404);
    expect(refused.json).toEqual({
      error: { code: 'ORDER_NOT_FOUND', message: 'order not found' },
    });
    await eventually(async () => expect(await statusOf(carol, orderId)).toBe('CONFIRMED'), {
      timeoutMs: 20_000,
    });
  });

  test('when every saga has settled, then every invariant holds (cancelled orders net zero, stock conserved)', async () => {
    await checkInvariants(system, accepted, { [sku]: stock });
  }, 120_000);
});

describe('lists and the admin search', () => {
  test('when a customer pages their orders and the admin searches them, then each order appears once and the cancelled ones are found by status', async () => {
    const dave = await customerToken(gateway, `dave-${id}`);
    const placed = [await place(dave, 1), await place(dave, 1), await place(dave, 1)];
    await cancel(dave, placed[1]!, 'k');

    const seen: string[] = [];
    let path = '/v1/orders?limit=2';
    for (let pages = 0; pages < 5; pages++) {
      const page = await call('GET', path, dave);
      expect(page.status).toBe(200);
      seen.push(...(page.json.orders as OrderJson[]).map((o) => o.orderId));
      if (typeof page.json.next !== 'string') break;
      path = `/v1/orders?limit=2&cursor=${encodeURIComponent(page.json.next)}`;
    }
    expect([...seen].sort()).toEqual([...placed].sort());

    // The customer filter is the user id: the subject of their access token.
    const { sub } = JSON.parse(
      Buffer.from(dave.split('.')[1] ?? '', 'base64url').toString('utf8'),
    ) as { sub: string };
    const search = await call('GET', `/v1/admin/orders?status=CANCELLED&customer=${sub}`, admin);
    expect(search.status).toBe(200);
    expect((search.json.orders as OrderJson[]).map((o) => o.orderId)).toEqual([placed[1]]);
    expect((await call('GET', '/v1/admin/orders', dave)).status).toBe(403);
  });
});
