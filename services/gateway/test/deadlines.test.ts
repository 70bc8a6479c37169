import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@orderly/platform/testing';
import { postOrder, send, startTestGateway, type TestGateway } from './test-gateway.js';

const requestTimeoutMs = 300;
const upstream = { signalAborted: false, timeoutMsSeen: undefined as number | undefined };

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    service: { requestTimeoutMs },
    order: {
      // Never answers on its own: it only stops when its deadline signal fires.
      placeOrder: (_request, ctx) => {
        upstream.timeoutMsSeen = ctx.timeoutMs();
        return new Promise((_resolve, reject) => {
          ctx.signal.addEventListener('abort', () => {
            upstream.signalAborted = true;
            reject(new Error('aborted'));
          });
        });
      },
    },
    inventory: {
      listProducts: () => new Promise(() => undefined),
    },
  });
});
afterAll(async () => {
  await gateway.stop();
});

describe('deadlines', () => {
  test('when the order service is slower than the request budget, then it is 504 DEADLINE_EXCEEDED in about the budget and the upstream call is aborted', async () => {
    const started = Date.now();

    const response = await postOrder(gateway.url);

    const elapsed = Date.now() - started;
    expect(response.status).toBe(504);
    expect(response.json()).toEqual({
      error: { code: 'DEADLINE_EXCEEDED', message: expect.any(String) as unknown },
    });
    expect(elapsed).toBeGreaterThanOrEqual(requestTimeoutMs - 20);
    expect(elapsed).toBeLessThan(requestTimeoutMs + 700);
    expect(upstream.timeoutMsSeen).toBeLessThanOrEqual(requestTimeoutMs);
    expect(upstream.timeoutMsSeen).toBeGreaterThan(0);
    await eventually(() => expect(upstream.signalAborted).toBe(true), { timeoutMs: 2000 });
  });

  test('when the inventory service never answers, then the catalog is 504 DEADLINE_EXCEEDED', async () => {
    const response = await send(gateway.url, { path: '/v1/products' });

    expect(response.status).toBe(504);
    expect(response.json()).toMatchObject({ error: { code: 'DEADLINE_EXCEEDED' } });
  });
});
