import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@orderly/platform/testing';
import { fakeOrderService, postOrder, startTestGateway, type TestGateway } from './test-gateway.js';

/**
 * Load shedding in front of the order service: when as many calls as allowed are already waiting
 * on it, a new order is refused at once with 503 UPSTREAM_OVERLOADED and Retry-After, rather than
 * queueing until its deadline; once the waiting calls finish, orders are accepted again.
 */
const maxInFlight = 2;
const held: (() => void)[] = [];
let started = 0;

const realistic = fakeOrderService().impl;

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    service: {
      orderServiceMaxInFlight: maxInFlight,
      overloadRetryAfterSeconds: 2,
      requestTimeoutMs: 10_000,
    },
    order: {
      // Holds every call until the test lets it go.
      placeOrder: async (request, context) => {
        started++;
        await new Promise<void>((resolve) => held.push(resolve));
        return realistic.placeOrder(request, context);
      },
    },
  });
});
afterAll(async () => {
  for (const release of held.splice(0)) release();
  await gateway.stop();
});

describe('load shedding', () => {
  test('when the order service already has as many calls as allowed, then a new order is 503 UPSTREAM_OVERLOADED with Retry-After, and accepted again once they finish', async () => {
    const waiting = [postOrder(gateway.url), postOrder(gateway.url)];
    await eventually(() => expect(started).toBe(maxInFlight));

    const refused = await postOrder(gateway.url);

    expect(refused.status).toBe(503);
    expect(refused.headers['retry-after']).toBe('2');
    expect(refused.json()).toMatchObject({ error: { code: 'UPSTREAM_OVERLOADED' } });
    expect(started).toBe(maxInFlight);

    for (const release of held.splice(0)) release();
    expect((await Promise.all(waiting)).map((r) => r.status)).toEqual([202, 202]);
    const again = postOrder(gateway.url);
    await eventually(() => expect(held).toHaveLength(1));
    held.shift()?.();
    expect((await again).status).toBe(202);
  });
});
