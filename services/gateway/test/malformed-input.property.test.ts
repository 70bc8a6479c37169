import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  orderHeaders,
  send,
  startTestGateway,
  validBody,
  type TestGateway,
} from './test-gateway.js';

/**
 * Whatever a client sends to POST /v1/orders, a malformed request is a 4xx with the error envelope,
 * never a 500, and never reaches the order service. Every generated case below is invalid by
 * construction (a valid body with exactly one thing broken, or junk).
 */
interface Case {
  readonly label: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: string | undefined;
}

const validText = JSON.stringify(validBody);
/** Inserts `"key":value,` as the first member of the top object or of the first line object. */
const insertMember = (where: 'top' | 'line', key: string, value: string): string =>
  where === 'top'
    ? validText.replace(/^\{/, `{${JSON.stringify(key)}:${value},`)
    : validText.replace('[{', `[{${JSON.stringify(key)}:${value},`);
const withLine = (line: unknown): string => JSON.stringify({ ...validBody, lines: [line] });

const jsonJunk = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.constantFrom(
    '1e400',
    '-0',
    '123456789012345678901234567890',
    '"\\u0000"',
    'true',
    'null',
    '[]',
    '{}',
  ),
);
const skuJunk = fc.oneof(
  fc
    .string()
    .filter((s) => !/^[A-Z0-9-]{1,32}$/.test(s))
    .map((s) => JSON.stringify(s)),
  fc.constantFrom(
    'null',
    '42',
    '["SKU-1"]',
    '{"sku":"SKU-1"}',
    '"SKU-1 "',
    `"${'A'.repeat(33)}"`,
    '""',
    '"sku-1"',
  ),
);
const quantityJunk = fc.oneof(
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .filter((x) => !Number.isInteger(x))
    .map(String),
  fc.integer({ max: 0 }).map(String),
  fc.integer({ min: 1001 }).map(String),
  fc.constantFrom(
    '1e400',
    '-1e400',
    '1e21',
    '9007199254740993',
    '1.0000001',
    '"2"',
    'null',
    'true',
    '[1]',
    '{}',
    '0x10',
  ),
);
const paymentJunk = fc.oneof(
  fc
    .string()
    .filter((s) => !/^[a-z0-9_]{1,64}$/.test(s))
    .map((s) => JSON.stringify(s)),
  fc.constantFrom('null', '1', '{}', '["pm_card_ok"]', `"${'a'.repeat(65)}"`),
);
const dangerousKeys = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  'extra',
  '',
);
const printable = fc.string({
  unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
});
const latin1 = fc.string({
  unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
  minLength: 1,
});

const bodyCases: fc.Arbitrary<Case>[] = [
  jsonJunk.map((body) => ({ label: 'json junk', headers: orderHeaders(), body })),
  fc.string().map((body) => ({ label: 'text junk', headers: orderHeaders(), body })),
  fc.uint8Array({ maxLength: 64 }).map((bytes) => ({
    label: 'bytes',
    headers: orderHeaders(),
    body: Buffer.from(bytes).toString('latin1'),
  })),
  fc.integer({ min: 1, max: validText.length - 1 }).map((n) => ({
    label: 'truncated',
    headers: orderHeaders(),
    body: validText.slice(0, n),
  })),
  skuJunk.map((sku) => ({
    label: 'sku',
    headers: orderHeaders(),
    body: withLine({ sku: 'X', quantity: 1 }).replace('"X"', sku),
  })),
  quantityJunk.map((q) => ({
    label: 'quantity',
    headers: orderHeaders(),
    body: withLine({ sku: 'SKU-1', quantity: 7 }).replace(':7', `:${q}`),
  })),
  paymentJunk.map((p) => ({
    label: 'paymentMethod',
    headers: orderHeaders(),
    body: validText.replace('"pm_card_ok"', p),
  })),
  fc
    .tuple(fc.constantFrom<'top' | 'line'>('top', 'line'), dangerousKeys, jsonJunk)
    .map(([where, key, value]) => ({
      label: `extra key ${key}`,
      headers: orderHeaders(),
      body: insertMember(where, key, value),
    })),
  fc
    .oneof(
      fc.constant('[]'),
      fc
        .integer({ min: 51, max: 80 })
        .map((n) => JSON.stringify(Array.from({ length: n }, () => ({ sku: 'A', quantity: 1 })))),
      jsonJunk.filter((v) => !v.startsWith('[')),
    )
    .map((lines) => ({
      label: 'lines',
      headers: orderHeaders(),
      body: validText.replace(/"lines":\[.*?\]/, `"lines":${lines}`),
    })),
  fc.constantFrom('lines', 'paymentMethod').map((key) => {
    const body: Record<string, unknown> = { ...validBody };
    delete body[key];
    return { label: `missing ${key}`, headers: orderHeaders(), body: JSON.stringify(body) };
  }),
];

const headerCases: fc.Arbitrary<Case>[] = [
  fc
    .oneof(
      fc.constant(undefined),
      fc.constant(''),
      fc.constant('k'.repeat(129)),
      printable.filter((s) => !/^[A-Za-z0-9_.:-]{1,128}$/.test(s)),
      latin1,
    )
    .map((key) => ({
      label: 'idempotency-key',
      headers: headerWith('idempotency-key', key),
      body: validText,
    })),
  fc
    .oneof(
      fc.constant(undefined),
      fc.constant(''),
      fc.constant('Bearer'),
      fc.constant(`Bearer ${'a'.repeat(5000)}`),
      printable.map((s) => `Bearer ${s}`),
      printable,
      latin1,
    )
    .map((authorization) => ({
      label: 'authorization',
      headers: headerWith('authorization', authorization),
      body: validText,
    })),
  fc.constantFrom('idempotency-key', 'authorization').map((name) => ({
    label: `duplicate ${name}`,
    headers: { ...orderHeaders(), [name]: ['a', 'b'] },
    body: validText,
  })),
  fc
    .oneof(
      fc.constantFrom(
        'text/plain',
        'application/xml',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=x',
        'application/',
        '/json',
        ';;;',
        'json',
      ),
      latin1,
    )
    .map((type) => ({
      label: 'content-type',
      headers: orderHeaders({ 'content-type': type }),
      body: validText,
    })),
];

function headerWith(name: string, value: string | undefined): Record<string, string> {
  const headers = orderHeaders();
  if (value === undefined) delete headers[name];
  else headers[name] = value;
  return headers;
}

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway.stop();
});

describe('POST /v1/orders with malformed input', () => {
  test('when any malformed body or header is sent, then it is a 4xx error envelope and PlaceOrder is never called', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(...bodyCases, ...headerCases), async (input) => {
        const callsBefore = gateway.orders.calls.placeOrder.length;

        const response = await send(gateway.url, {
          method: 'POST',
          path: '/v1/orders',
          headers: input.headers,
          body: input.body,
        });

        expect(response.status, `${input.label}: ${response.text}`).toBeGreaterThanOrEqual(400);
        expect(response.status, `${input.label}: ${response.text}`).toBeLessThan(500);
        expect(response.headers['content-type']).toMatch(/^application\/json/);
        expect(response.json()).toEqual({
          error: {
            code: expect.stringMatching(/^[A-Z_]+$/) as unknown,
            message: expect.any(String) as unknown,
          },
        });
        expect(gateway.orders.calls.placeOrder.length, input.label).toBe(callsBefore);
      }),
      { numRuns: 400 },
    );
  });
});
