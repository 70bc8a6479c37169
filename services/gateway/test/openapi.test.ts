import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { send, startTestGateway, type TestGateway } from './test-gateway.js';

interface Operation {
  operationId?: string;
  parameters?: { name: string; in: string; required?: boolean }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<
    string,
    { description?: string; headers?: Record<string, unknown>; content?: Record<string, unknown> }
  >;
}
interface Document {
  openapi: string;
  info: { title: string; version: string };
  paths: Record<string, Record<string, Operation>>;
}

const httpMethods = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);

let gateway: TestGateway;
let document: Document;
beforeAll(async () => {
  gateway = await startTestGateway();
  const response = await send(gateway.url, { path: '/openapi.json' });
  expect(response.status).toBe(200);
  document = response.json() as Document;
});
afterAll(async () => {
  await gateway.stop();
});

function operations(): [string, string, Operation][] {
  return Object.entries(document.paths).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => httpMethods.has(method))
      .map(([method, operation]): [string, string, Operation] => [path, method, operation]),
  );
}

describe('GET /openapi.json', () => {
  test('when the document is read, then it is OpenAPI 3.1 with every public route and nothing else', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.title).toEqual(expect.any(String));
    expect(document.info.version).toEqual(expect.any(String));
    expect(
      operations()
        .map(([path, method]) => `${method.toUpperCase()} ${path}`)
        .sort(),
    ).toEqual([
      'GET /.well-known/jwks.json',
      'GET /v1/admin/dead-letters',
      'GET /v1/admin/flags',
      'GET /v1/admin/orders',
      'GET /v1/admin/orders/{orderId}',
      'GET /v1/admin/orders/{orderId}/timeline',
      'GET /v1/admin/risk/reviews',
      'GET /v1/admin/system',
      'GET /v1/orders',
      'GET /v1/orders/{orderId}',
      'GET /v1/products',
      'POST /v1/admin/dead-letters/redrive',
      'POST /v1/admin/keys/rotate',
      'POST /v1/admin/products',
      'POST /v1/admin/risk/reviews/{orderId}/approve',
      'POST /v1/admin/risk/reviews/{orderId}/reject',
      'POST /v1/admin/stock',
      'POST /v1/auth/login',
      'POST /v1/auth/logout',
      'POST /v1/auth/refresh',
      'POST /v1/auth/register',
      'POST /v1/orders',
      'POST /v1/orders/{orderId}/cancel',
    ]);
  });

  test('when security is read, then bearer JWT is the default and exactly the public routes opt out', () => {
    const components = (
      document as unknown as {
        components: { securitySchemes: Record<string, unknown> };
      }
    ).components;
    expect(components.securitySchemes.bearerAuth).toMatchObject({
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
    });
    expect((document as unknown as { security: unknown }).security).toEqual([{ bearerAuth: [] }]);
    const security = operations().map(([path, method, operation]) => [
      `${method.toUpperCase()} ${path}`,
      (operation as { security?: unknown[] }).security,
    ]);
    const publicRoutes = security.filter(([, s]) => Array.isArray(s) && s.length === 0);
    expect(publicRoutes.map(([route]) => route).sort()).toEqual([
      'GET /.well-known/jwks.json',
      'GET /v1/products',
      'POST /v1/auth/login',
      'POST /v1/auth/logout',
      'POST /v1/auth/refresh',
      'POST /v1/auth/register',
    ]);
    for (const [route, s] of security.filter(([, s]) => !Array.isArray(s) || s.length > 0)) {
      expect(s, String(route)).toEqual([{ bearerAuth: [] }]);
    }
    const placeOrder = document.paths['/v1/orders']?.post;
    expect(Object.keys(placeOrder?.responses ?? {})).toEqual(
      expect.arrayContaining(['401', '429']),
    );
    expect(Object.keys(document.paths['/v1/admin/stock']?.post?.responses ?? {})).toEqual(
      expect.arrayContaining(['401', '403', '429']),
    );
  });

  test('when operations are read, then each has a unique operationId and described responses including the error envelope', () => {
    const ids = operations().map(([, , operation]) => operation.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    for (const [, , operation] of operations()) {
      for (const response of Object.values(operation.responses))
        expect(response.description).toEqual(expect.any(String));
      expect(operation.responses['500']?.content?.['application/json']).toBeDefined();
      expect(operation.responses['503']).toBeDefined();
      expect(operation.responses['504']).toBeDefined();
    }
  });

  test('when POST /v1/orders is read, then it documents its headers, body, 202 headers and error statuses', () => {
    const placeOrder = document.paths['/v1/orders']?.post;
    expect(placeOrder).toBeDefined();
    const headers = (placeOrder?.parameters ?? []).filter((p) => p.in === 'header');
    expect(headers.map((h) => [h.name.toLowerCase(), h.required])).toEqual([
      ['idempotency-key', true],
      ['x-contract-version', false],
    ]);
    expect(placeOrder?.requestBody?.content['application/json']?.schema).toMatchObject({
      additionalProperties: false,
      required: ['lines', 'paymentMethod'],
    });
    expect(Object.keys(placeOrder?.responses['202']?.headers ?? {})).toEqual([
      'Location',
      'Idempotent-Replayed',
      'X-Contract-Version',
    ]);
    expect(Object.keys(placeOrder?.responses ?? {})).toEqual(
      expect.arrayContaining(['202', '400', '409', '413', '415', '503', '504']),
    );
  });

  test('when GET /v1/orders/{orderId} is read, then the path parameter is declared', () => {
    const getOrder = document.paths['/v1/orders/{orderId}']?.get;
    expect(getOrder?.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'orderId', in: 'path', required: true }),
      ]),
    );
    expect(getOrder?.responses['404']).toBeDefined();
  });

  test('when every $ref is followed, then it resolves inside the document', () => {
    const refs: string[] = [];
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) return node.forEach(walk);
      if (node && typeof node === 'object') {
        for (const [key, value] of Object.entries(node)) {
          if (key === '$ref' && typeof value === 'string') refs.push(value);
          else walk(value);
        }
      }
    };
    walk(document);
    for (const ref of refs) {
      expect(ref.startsWith('#/')).toBe(true);
      const target = ref
        .slice(2)
        .split('/')
        .reduce<unknown>(
          (node, key) => (node as Record<string, unknown> | undefined)?.[key],
          document,
        );
      expect(target, ref).toBeDefined();
    }
  });
});
