import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  asCustomer,
  deadUrl,
  orderHeaders,
  postOrder,
  send,
  startTestGateway,
  validBody,
  type TestGateway,
} from './test-gateway.js';

interface Envelope {
  error: { code: string; message: string };
}

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({
    service: { bodyLimitBytes: 4096 },
    order: {
      getOrder: () => Promise.reject(new Error('secret detail from the database')),
    },
  });
});
afterAll(async () => {
  await gateway.stop();
});

function expectEnvelope(
  response: { status: number; json(): unknown; headers: Record<string, unknown> },
  status: number,
  code: string,
) {
  expect(response.status).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  const body = response.json() as Envelope;
  expect(body).toEqual({ error: { code, message: expect.any(String) as unknown } });
  return body.error;
}

describe('request errors', () => {
  test('when the body is not JSON, then it is 400 MALFORMED_JSON', async () => {
    const response = await send(gateway.url, {
      method: 'POST',
      path: '/v1/orders',
      headers: orderHeaders(),
      body: '{"lines": [',
    });
    expectEnvelope(response, 400, 'MALFORMED_JSON');
  });

  test('when the body is empty with a JSON content type, then it is 400 MALFORMED_JSON', async () => {
    const response = await send(gateway.url, {
      method: 'POST',
      path: '/v1/orders',
      headers: orderHeaders(),
      body: '',
    });
    expectEnvelope(response, 400, 'MALFORMED_JSON');
  });

  test('when there is no body at all, then it is 400 VALIDATION_FAILED', async () => {
    const headers = orderHeaders();
    delete headers['content-type'];
    const response = await send(gateway.url, { method: 'POST', path: '/v1/orders', headers });
    expectEnvelope(response, 400, 'VALIDATION_FAILED');
  });

  test('when the body holds a __proto__ key, then it is refused with 400', async () => {
    const response = await send(gateway.url, {
      method: 'POST',
      path: '/v1/orders',
      headers: orderHeaders(),
      body: '{"lines":[{"sku":"SKU-1","quantity":1}],"paymentMethod":"pm_card_ok","__proto__":{"admin":true}}',
    });
    expectEnvelope(response, 400, 'MALFORMED_JSON');
  });

  test.each([
    [
      'a quantity that is not an integer',
      { lines: [{ sku: 'SKU-1', quantity: 1.5 }], paymentMethod: 'pm' },
      'body/lines/0/quantity',
    ],
    [
      'a quantity as a string',
      { lines: [{ sku: 'SKU-1', quantity: '2' }], paymentMethod: 'pm' },
      'body/lines/0/quantity',
    ],
    [
      'a quantity over the limit',
      { lines: [{ sku: 'SKU-1', quantity: 1001 }], paymentMethod: 'pm' },
      'body/lines/0/quantity',
    ],
    [
      'a lower-case sku',
      { lines: [{ sku: 'sku-1', quantity: 1 }], paymentMethod: 'pm' },
      'body/lines/0/sku',
    ],
    ['no lines', { lines: [], paymentMethod: 'pm' }, 'body/lines'],
    [
      'lines as an object',
      { lines: { sku: 'SKU-1', quantity: 1 }, paymentMethod: 'pm' },
      'body/lines',
    ],
    ['an unknown field', { ...validBody, coupon: 'FREE' }, "unknown property 'coupon'"],
    [
      'an unknown field in a line',
      { lines: [{ sku: 'SKU-1', quantity: 1, note: 'x' }], paymentMethod: 'pm' },
      "unknown property 'note'",
    ],
    ['no payment method', { lines: validBody.lines }, 'body/paymentMethod is required'],
    [
      'a null payment method',
      { lines: validBody.lines, paymentMethod: null },
      'body/paymentMethod',
    ],
    ['an array body', [validBody], 'body'],
  ])(
    'when the body has %s, then it is 400 VALIDATION_FAILED naming the field',
    async (_what, body, field) => {
      const error = expectEnvelope(await postOrder(gateway.url, body), 400, 'VALIDATION_FAILED');
      expect(error.message).toContain(field);
    },
  );

  test('when there are more lines than allowed, then it is 400 VALIDATION_FAILED', async () => {
    const lines = Array.from({ length: 51 }, () => ({ sku: 'A', quantity: 1 }));
    const response = await send(gateway.url, {
      method: 'POST',
      path: '/v1/orders',
      headers: orderHeaders(),
      body: JSON.stringify({ lines, paymentMethod: 'pm' }),
    });
    expect(expectEnvelope(response, 400, 'VALIDATION_FAILED').message).toContain('body/lines');
  });

  test.each([
    ['no Idempotency-Key', { 'idempotency-key': '' }, 'idempotency-key'],
    ['an Idempotency-Key with spaces', { 'idempotency-key': 'a b' }, 'idempotency-key'],
    [
      'an Idempotency-Key that is too long',
      { 'idempotency-key': 'k'.repeat(129) },
      'idempotency-key',
    ],
  ])(
    'when the request has %s, then it is 400 VALIDATION_FAILED naming the header',
    async (_what, override, header) => {
      const headers = orderHeaders(override);
      for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
      const error = expectEnvelope(
        await postOrder(gateway.url, validBody, headers),
        400,
        'VALIDATION_FAILED',
      );
      expect(error.message).toContain(header);
    },
  );

  test('when the body is larger than bodyLimitBytes (4096 here), then it is 413 PAYLOAD_TOO_LARGE', async () => {
    const body = JSON.stringify({ ...validBody, paymentMethod: 'p'.repeat(5000) });
    const response = await send(gateway.url, {
      method: 'POST',
      path: '/v1/orders',
      headers: orderHeaders(),
      body,
    });
    expectEnvelope(response, 413, 'PAYLOAD_TOO_LARGE');
  });

  test('when the content type is not JSON, then it is 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const response = await send(gateway.url, {
      method: 'POST',
      path: '/v1/orders',
      headers: orderHeaders({ 'content-type': 'text/xml' }),
      body: '<order/>',
    });
    expectEnvelope(response, 415, 'UNSUPPORTED_MEDIA_TYPE');
  });

  test('when a rejected request is made, then the order service is never called', async () => {
    const before = gateway.orders.calls.placeOrder.length;
    await postOrder(gateway.url, { lines: [], paymentMethod: 'pm' });
    await send(gateway.url, {
      method: 'POST',
      path: '/v1/orders',
      headers: orderHeaders(),
      body: 'nope',
    });
    expect(gateway.orders.calls.placeOrder.length).toBe(before);
  });
});

describe('routing errors', () => {
  test('when the route does not exist, then it is 404 ROUTE_NOT_FOUND', async () => {
    expectEnvelope(await send(gateway.url, { path: '/v1/nothing-here' }), 404, 'ROUTE_NOT_FOUND');
  });

  test('when the path exists with another method, then it is 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const response = await send(gateway.url, { method: 'DELETE', path: '/v1/orders' });
    expectEnvelope(response, 405, 'METHOD_NOT_ALLOWED');
    expect(response.headers.allow).toBe('GET, POST');
  });

  test('when the URL has a broken escape, then it is 400 MALFORMED_REQUEST', async () => {
    expectEnvelope(
      await send(gateway.url, { path: '/v1/orders/%E0%A4%A', headers: await asCustomer('c') }),
      400,
      'MALFORMED_REQUEST',
    );
  });

  test('when a path parameter is absurdly long, then it is 404', async () => {
    const response = await send(gateway.url, {
      path: `/v1/orders/${'a'.repeat(500)}`,
      headers: await asCustomer('c'),
    });
    expect(response.status).toBe(404);
    expect((response.json() as Envelope).error.code).toMatch(/NOT_FOUND$/);
  });
});

describe('upstream errors', () => {
  test('when the order service fails internally, then it is 500 with no detail leaked', async () => {
    const response = await send(gateway.url, {
      path: '/v1/orders/7d444840-9dc0-11d1-b245-5ffdce74fad2',
      headers: await asCustomer('c'),
    });
    const error = expectEnvelope(response, 500, 'INTERNAL');
    expect(error.message).toBe('internal error');
    expect(response.text).not.toContain('secret');
  });

  test('when the order service is unreachable, then it is 503 UPSTREAM_UNAVAILABLE', async () => {
    const down = await startTestGateway({ service: { orderServiceUrl: await deadUrl() } });
    try {
      expectEnvelope(await postOrder(down.url), 503, 'UPSTREAM_UNAVAILABLE');
    } finally {
      await down.stop();
    }
  });
});
