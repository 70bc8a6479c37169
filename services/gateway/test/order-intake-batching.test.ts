import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@orderly/platform/testing';
import {
  fakeOrderService,
  orderHeaders,
  postOrder,
  startTestGateway,
  validBody,
  type TestGateway,
} from './test-gateway.js';

/**
 * The intake hop is batched: orders that arrive while the order service is busy reach it together
 * in one PlaceOrders call, and each still gets exactly the answer a PlaceOrder call would give it.
 */
let releaseFirst: () => void = () => undefined;
let holdNext = true;
let arrived = 0;
const fake = fakeOrderService();
const realistic = fake.impl.placeOrder;
fake.impl.placeOrder = async (request, context) => {
  arrived++;
  if (holdNext) {
    holdNext = false;
    await new Promise<void>((resolve) => (releaseFirst = resolve));
  }
  return realistic(request, context);
};

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    service: { orderIntakeBatch: { maxBatch: 50, maxInFlight: 1 }, requestTimeoutMs: 20_000 },
    order: fake.impl,
  });
});
afterAll(async () => {
  releaseFirst();
  await gateway.stop();
});

describe('batched order intake', () => {
  test('when orders arrive while a call to the order service is in flight, then they reach it together in PlaceOrders calls and each gets its own answer', async () => {
    const firstHeaders = orderHeaders();
    const first = postOrder(gateway.url, validBody, firstHeaders);
    await eventually(() => expect(arrived).toBe(1));

    // Queued behind the held call: ten new orders, a retry of the first (same key, same content)
    // and a request that reuses the first's key for other content.
    const fresh = Array.from({ length: 10 }, () => postOrder(gateway.url));
    const retry = postOrder(gateway.url, validBody, firstHeaders);
    const reused = postOrder(
      gateway.url,
      { lines: [{ sku: 'SKU-2', quantity: 1 }], paymentMethod: 'pm_card_ok' },
      orderHeaders({ 'idempotency-key': firstHeaders['idempotency-key']! }),
    );
    await sleep(500); // let them reach the gateway's queue
    releaseFirst();

    const placed = await first;
    expect(placed.status).toBe(202);
    const answers = await Promise.all(fresh);
    expect(answers.map((a) => a.status)).toEqual(Array<number>(10).fill(202));
    const ids = answers.map((a) => (a.json() as { orderId: string }).orderId);
    expect(new Set(ids).size).toBe(10);

    const replay = await retry;
    expect(replay.status).toBe(202);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect((replay.json() as { orderId: string }).orderId).toBe(
      (placed.json() as { orderId: string }).orderId,
    );
    const conflict = await reused;
    expect(conflict.status).toBe(409);
    expect(conflict.json()).toMatchObject({ error: { code: 'ORDER_IDEMPOTENCY_KEY_REUSED' } });

    // Twelve orders after the first, in batches: far fewer calls than orders.
    const sizes = fake.calls.placeOrders;
    expect(sizes.reduce((sum, n) => sum + n, 0)).toBe(12);
    expect(sizes.length).toBeLessThanOrEqual(3);
    expect(Math.max(...sizes)).toBeGreaterThan(1);
  });
});
