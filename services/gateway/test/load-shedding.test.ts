import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { AppError } from '@orderly/platform';
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

describe('echoing the order service backpressure', () => {
  const holdMs = 400;
  let asked = 0;
  let saturated = true;
  let echoing: TestGateway;
  beforeAll(async () => {
    echoing = await startTestGateway({
      service: { orderServiceShedHoldMs: holdMs, overloadRetryAfterSeconds: 1 },
      order: {
        placeOrder: (request, context) => {
          asked++;
          if (saturated) {
            throw new AppError('ORDER_INTAKE_SATURATED', '2000 orders are still being fulfilled', {
              kind: 'unavailable',
              shedding: true,
            });
          }
          return realistic.placeOrder(request, context);
        },
      },
    });
  });
  afterAll(() => echoing.stop());

  test('when the order service sheds an order, then further orders get its answer from the gateway alone until the hold ends, and reach it again after', async () => {
    const first = await postOrder(echoing.url);
    expect(first.status).toBe(503);
    expect(first.json()).toMatchObject({ error: { code: 'ORDER_INTAKE_SATURATED' } });
    expect(asked).toBe(1);

    const echoed = await Promise.all([
      postOrder(echoing.url),
      postOrder(echoing.url),
      postOrder(echoing.url),
    ]);

    expect(echoed.map((r) => r.status)).toEqual([503, 503, 503]);
    expect(echoed.map((r) => (r.json() as { error: { code: string } }).error.code)).toEqual([
      'ORDER_INTAKE_SATURATED',
      'ORDER_INTAKE_SATURATED',
      'ORDER_INTAKE_SATURATED',
    ]);
    expect(echoed.map((r) => r.headers['retry-after'])).toEqual(['1', '1', '1']);
    expect(asked).toBe(1);

    saturated = false;
    await new Promise((resolve) => setTimeout(resolve, holdMs + 50));
    expect((await postOrder(echoing.url)).status).toBe(202);
    expect(asked).toBe(2);
  });
});
