import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AppError } from '@orderly/platform';
import {
  asCustomer,
  orderHeaders,
  postOrder,
  send,
  startTestGateway,
  type TestGateway,
} from './test-gateway.js';

/** POST /v1/orders/{orderId}/cancel through the gateway, against a fake order service. */
let gateway: TestGateway;
let alice: Record<string, string>;
let mallory: Record<string, string>;
beforeAll(async () => {
  gateway = await startTestGateway();
  alice = await asCustomer('alice');
  mallory = await asCustomer('mallory');
});
afterAll(async () => {
  await gateway.stop();
});

const cancel = (
  orderId: string,
  headers: Record<string, string>,
  init: { key?: string; body?: string; contentType?: string } = {},
) =>
  send(gateway.url, {
    method: 'POST',
    path: `/v1/orders/${orderId}/cancel`,
    headers: {
      ...headers,
      ...(init.key === '' ? {} : { 'idempotency-key': init.key ?? 'cancel-1' }),
      ...(init.contentType ? { 'content-type': init.contentType } : {}),
    },
    ...(init.body === undefined ? {} : { body: init.body }),
  });

async function aliceOrder(): Promise<string> {
  const placed = await postOrder(gateway.url, undefined, orderHeaders(alice));
  return (placed.json() as { orderId: string }).orderId;
}

describe('POST /v1/orders/{orderId}/cancel', () => {
  test('when the owner cancels, then it is 200 with the order CANCELLED as CUSTOMER_REQUESTED; the same key again is the same answer with Idempotent-Replayed', async () => {
    const orderId = await aliceOrder();

    const first = await cancel(orderId, alice);
    const again = await cancel(orderId, alice);

    expect(first.status).toBe(200);
    expect(first.json()).toMatchObject({
      orderId,
      status: 'CANCELLED',
      cancellationReason: 'CUSTOMER_REQUESTED',
    });
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(again.status).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(gateway.orders.calls.cancelOrder.at(-1)).toMatchObject({
      orderId,
      customerId: 'alice',
      idempotencyKey: 'cancel-1',
    });
  });

  test("when someone else's, an unknown or a malformed order id is cancelled, then it is the same 404 ORDER_NOT_FOUND", async () => {
    const orderId = await aliceOrder();
    for (const [id, who] of [
      [orderId, mallory],
      [randomUUID(), alice],
      ['not-an-id', alice],
    ] as const) {
      const response = await cancel(id, who);
      expect(response.status, id).toBe(404);
      expect(response.json()).toEqual({
        error: { code: 'ORDER_NOT_FOUND', message: 'order not found' },
      });
    }
  });

  test('when the order can no longer be cancelled, then it is 409 ORDER_NOT_CANCELLABLE with the reason', async () => {
    const late = await startTestGateway({
      order: {
        cancelOrder() {
          throw new AppError('ORDER_NOT_CANCELLABLE', 'it was confirmed too long ago', {
            kind: 'conflict',
          });
        },
      },
    });
    try {
      const response = await send(late.url, {
        method: 'POST',
        path: `/v1/orders/${randomUUID()}/cancel`,
        headers: { ...alice, 'idempotency-key': 'k' },
      });
      expect(response.status).toBe(409);
      expect(response.json()).toMatchObject({
        error: { code: 'ORDER_NOT_CANCELLABLE', message: 'it was confirmed too long ago' },
      });
    } finally {
      await late.stop();
    }
  });

  test('when the request is malformed, then it is refused before the order service is called', async () => {
    const orderId = await aliceOrder();
    const calls = gateway.orders.calls.cancelOrder.length;
    const cases = [
      [await cancel(orderId, {}), 401, 'AUTH_TOKEN_MISSING'],
      [await cancel(orderId, alice, { key: '' }), 400, 'VALIDATION_FAILED'],
      [await cancel(orderId, alice, { key: 'a b' }), 400, 'VALIDATION_FAILED'],
      [
        await cancel(orderId, alice, { body: '{"reason":"x"}', contentType: 'application/json' }),
        400,
        'VALIDATION_FAILED',
      ],
      [
        await cancel(orderId, alice, { body: 'x', contentType: 'text/plain' }),
        400,
        'VALIDATION_FAILED',
      ],
    ] as const;
    for (const [response, status, code] of cases) {
      expect(response.status, `${code} ${response.text}`).toBe(status);
      expect(response.json()).toMatchObject({ error: { code } });
    }
    expect(gateway.orders.calls.cancelOrder).toHaveLength(calls);
    const empty = await cancel(orderId, alice, { body: '{}', contentType: 'application/json' });
    expect(empty.status).toBe(200);
  });
});
