import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@orderly/platform/testing';
import {
  asCustomer,
  captureLog,
  deadUrl,
  postOrder,
  send,
  startTestGateway,
  type TestGateway,
} from './test-gateway.js';

describe('health', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(async () => {
    await gateway.stop();
  });

  test('when the order, inventory and identity services are up, then /healthz and /readyz are 200 with every check ok', async () => {
    expect((await send(gateway.url, { path: '/healthz' })).status).toBe(200);
    const ready = await send(gateway.url, { path: '/readyz' });

    expect(ready.status).toBe(200);
    expect(ready.json()).toMatchObject({
      status: 'ready',
      checks: { order: 'ok', inventory: 'ok', identity: 'ok' },
    });
  });

  test('when the inventory service is down, then /readyz is 503 naming it', async () => {
    const down = await startTestGateway({ service: { inventoryServiceUrl: await deadUrl() } });
    try {
      const ready = await send(down.url, { path: '/readyz' });

      expect(ready.status).toBe(503);
      expect(ready.json()).toMatchObject({
        status: 'not-ready',
        checks: { order: 'ok', inventory: expect.any(String) as unknown },
      });
      expect((ready.json() as { checks: { inventory: string } }).checks.inventory).not.toBe('ok');
    } finally {
      await down.stop();
    }
  });
});

describe('request logs', () => {
  const { log, lines } = captureLog();
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({ log });
  });
  afterAll(async () => {
    await gateway.stop();
  });

  test('when requests are handled, then each gives one info line with method, route pattern, status and duration, and no payload', async () => {
    await postOrder(gateway.url);
    await send(gateway.url, {
      path: '/v1/orders/00000000-0000-4000-8000-000000000000',
      headers: await asCustomer('c'),
    });
    await send(gateway.url, { path: '/nowhere' });

    const requestLines = await eventually(() => {
      const found = lines.filter((line) => line.msg === 'request handled');
      expect(found).toHaveLength(3);
      return found;
    });
    expect(
      requestLines.map((line) => [
        line.level,
        line['http.method'],
        line['http.route'],
        line['http.status_code'],
      ]),
    ).toEqual([
      ['info', 'POST', '/v1/orders', 202],
      ['info', 'GET', '/v1/orders/:orderId', 404],
      ['info', 'GET', 'unmatched', 404],
    ]);
    for (const line of requestLines) expect(line.duration_ms).toEqual(expect.any(Number));
    expect(JSON.stringify(lines)).not.toContain('pm_card_ok');
  });
});
