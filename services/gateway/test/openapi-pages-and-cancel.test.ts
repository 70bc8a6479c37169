import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { send, startTestGateway, type TestGateway } from './test-gateway.js';

/** The OpenAPI document describes the cancel, the pages and the admin search as they behave. */
interface Parameter {
  name: string;
  in: string;
  required?: boolean;
  schema?: Record<string, unknown>;
}
interface Operation {
  parameters?: Parameter[];
  responses: Record<
    string,
    {
      headers?: Record<string, unknown>;
      content?: Record<
        string,
        { schema: { properties?: Record<string, unknown>; required?: string[] } }
      >;
    }
  >;
}
let gateway: TestGateway;
let paths: Record<string, Record<string, Operation>>;
beforeAll(async () => {
  gateway = await startTestGateway();
  paths = (
    (await send(gateway.url, { path: '/openapi.json' })).json() as {
      paths: typeof paths;
    }
  ).paths;
});
afterAll(async () => {
  await gateway.stop();
});

const query = (operation: Operation | undefined) =>
  (operation?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name);
const okProperties = (operation: Operation | undefined) =>
  Object.keys(operation?.responses['200']?.content?.['application/json']?.schema.properties ?? {});

describe('the OpenAPI document', () => {
  test('when POST /v1/orders/{orderId}/cancel is read, then it needs an Idempotency-Key, answers the order with Idempotent-Replayed, and documents 404 and 409', () => {
    const cancel = paths['/v1/orders/{orderId}/cancel']?.post;
    const headers = (cancel?.parameters ?? []).filter((p) => p.in === 'header');
    expect(headers.map((h) => [h.name.toLowerCase(), h.required])).toEqual([
      ['idempotency-key', true],
      ['x-contract-version', false],
    ]);
    expect(cancel?.parameters).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: 'orderId', in: 'path' })]),
    );
    expect(Object.keys(cancel?.responses['200']?.headers ?? {})).toEqual([
      'Idempotent-Replayed',
      'X-Contract-Version',
    ]);
    expect(okProperties(cancel)).toEqual(expect.arrayContaining(['status', 'cancellationReason']));
    expect(Object.keys(cancel?.responses ?? {})).toEqual(
      expect.arrayContaining(['200', '400', '401', '404', '409', '429', '503', '504']),
    );
  });

  test('when the lists are read, then each takes limit and cursor and answers next beside its items', () => {
    for (const [path, items] of [
      ['/v1/orders', 'orders'],
      ['/v1/products', 'products'],
      ['/v1/admin/orders', 'orders'],
    ] as const) {
      const list = paths[path]?.get;
      expect(query(list), path).toEqual(expect.arrayContaining(['limit', 'cursor']));
      expect(okProperties(list), path).toEqual([items, 'next']);
      expect(list?.responses['400'], path).toBeDefined();
    }
  });

  test('when the admin search is read, then its filters are documented with their formats, and customerId is part of each order', () => {
    const search = paths['/v1/admin/orders']?.get;
    expect(query(search)).toEqual(['status', 'customer', 'from', 'to', 'limit', 'cursor']);
    const from = search?.parameters?.find((p) => p.name === 'from');
    expect(from?.schema).toMatchObject({ type: 'string', format: 'date-time' });
    const status = search?.parameters?.find((p) => p.name === 'status');
    expect(status?.schema).toMatchObject({
      enum: ['PENDING', 'STOCK_RESERVED', 'CONFIRMED', 'CANCELLED'],
    });
    const order = (
      search?.responses['200']?.content?.['application/json']?.schema.properties?.orders as {
        items: { required: string[] };
      }
    ).items;
    expect(order.required).toContain('customerId');
    expect(Object.keys(search?.responses ?? {})).toEqual(expect.arrayContaining(['401', '403']));
  });
});
