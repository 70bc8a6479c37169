import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IdentityService } from '@orderly/identity-contract/identity_service';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { OrderService } from '@orderly/order-contract/order_service';
import type { ServiceRuntime } from '@orderly/platform';
import {
  eventually,
  startTestService,
  testLiveConfig,
  testWorkloadIdentity,
} from '@orderly/platform/testing';
import { publicRouteKeys } from '../src/entry-points/http/public-routes.js';
import { gatewayConfigSchema, gatewayService } from '../src/service.js';
import { fakeIdentityService } from './fake-identity.js';
import {
  fakeInventoryService,
  fakeOrderService,
  gatewayTestConfig,
  generousRateLimits,
  send,
  startUpstream,
} from './test-gateway.js';

/**
 * Issue 17, a route's own lifecycle: `services.gateway.contract.routes` followed live from the
 * configuration file — a deprecated route answers with Deprecation/Sunset/Link, a retired one 410
 * ROUTE_RETIRED with its successor and sunset, its callers are listed on the operator port, and a
 * key that is not a public route is refused.
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-gateway-routes-'));
const configFile = join(dir, 'gateway.yaml');
const sunset = '2027-03-31T00:00:00Z';
const deprecatedAt = '2026-12-01T00:00:00Z';
const successor = 'https://catalog.example.com/v1/items';

/** The file with `contract.routes` set to `routes` (YAML flow style), or without it. */
function writeRoutes(routes?: string): void {
  const gateway = routes ? `\n    contract:\n      routes: ${routes}` : ' {}';
  writeFileSync(
    configFile,
    `configReload:\n  debounceMs: 20\n  pollIntervalMs: 100\nservices:\n  gateway:${gateway}\n`,
  );
}
const productsRoute = (lifecycle: 'deprecated' | 'retired', key = 'GET /v1/products') =>
  `{ '${key}': { lifecycle: ${lifecycle}, sunset: '${sunset}', deprecatedAt: '${deprecatedAt}', successor: '${successor}' } }`;

const upstreams: { close(): Promise<void> }[] = [];
let live: ReturnType<typeof testLiveConfig<typeof gatewayConfigSchema>>;
let runtime: ServiceRuntime;
let url: string;

beforeAll(async () => {
  writeRoutes();
  const orders = await startUpstream(
    (router) => router.service(OrderService, fakeOrderService().impl),
    'order',
  );
  const inventory = await startUpstream(
    (router) => router.service(InventoryService, fakeInventoryService().impl),
    'inventory',
  );
  const identity = await startUpstream(
    (router) => router.service(IdentityService, fakeIdentityService().impl),
    'identity',
  );
  upstreams.push(orders, inventory, identity);
  live = testLiveConfig('gateway', gatewayConfigSchema, configFile, {
    service: {
      orderServiceUrl: orders.url,
      inventoryServiceUrl: inventory.url,
      identityServiceUrl: identity.url,
      rateLimits: generousRateLimits,
    },
  });
  ({ runtime, url } = await startTestService(gatewayService, { config: live.live }));
});

afterAll(async () => {
  await runtime?.stop();
  live?.close();
  for (const upstream of upstreams) await upstream.close();
  rmSync(dir, { recursive: true, force: true });
});

const listProducts = (version = '1') =>
  send(url, {
    path: '/v1/products',
    headers: { 'x-client-id': 'catalog-scraper', 'x-contract-version': version },
  });

async function openApiOperation(method: string, path: string) {
  const document = (await (await fetch(`${url}/openapi.json`)).json()) as {
    paths: Record<string, Record<string, { deprecated?: boolean }>>;
  };
  return document.paths[path]?.[method.toLowerCase()];
}

describe('a public route deprecated or retired in the configuration file', () => {
  test('when GET /v1/products is deprecated live, then its answers carry Deprecation, Sunset and a Link to the successor in every version, and the OpenAPI document marks it deprecated', async () => {
    expect((await listProducts()).headers.deprecation).toBeUndefined();
    writeRoutes(productsRoute('deprecated'));
    const deprecated = await eventually(async () => {
      const answer = await listProducts();
      expect(answer.headers.deprecation).toBe(`@${Date.parse(deprecatedAt) / 1000}`);
      return answer;
    });
    expect(deprecated.status).toBe(200);
    expect(deprecated.headers.sunset).toBe(new Date(sunset).toUTCString());
    expect(deprecated.headers.link).toBe(`<${successor}>; rel="successor-version"`);
    // The route's lifecycle holds whatever version serves it.
    expect((await listProducts('2')).headers.deprecation).toBe(
      `@${Date.parse(deprecatedAt) / 1000}`,
    );
    // Other routes are not touched.
    const jwks = await send(url, { path: '/.well-known/jwks.json' });
    expect(jwks.status).toBe(200);
    expect(jwks.headers.deprecation).toBeUndefined();
    expect(await openApiOperation('GET', '/v1/products')).toMatchObject({ deprecated: true });
    expect((await openApiOperation('GET', '/v1/orders'))?.deprecated).toBeUndefined();
  });

  test('when it is retired live, then 410 ROUTE_RETIRED names the route, the successor and the sunset, and the operator sees who still calls it', async () => {
    writeRoutes(productsRoute('retired'));
    const retired = await eventually(async () => {
      const answer = await listProducts();
      expect(answer.status).toBe(410);
      return answer;
    });
    expect(retired.json()).toEqual({
      error: {
        code: 'ROUTE_RETIRED',
        message: `route GET /v1/products was retired on ${sunset}; use ${successor}`,
        route: 'GET /v1/products',
        successor,
        sunset,
      },
    });
    expect(retired.headers.link).toBe(`<${successor}>; rel="successor-version"`);
    expect(retired.headers['x-contract-version']).toBe('1');
    expect((await listProducts('2')).status).toBe(410);

    const operator = await testWorkloadIdentity('operator');
    const report = await fetch(`${runtime.operatorUrl ?? ''}/admin/contracts/callers`, {
      headers: { authorization: await operator.authorization('gateway') },
    });
    expect(report.status).toBe(200);
    const body = (await report.json()) as {
      versions: unknown[];
      routes: unknown;
      callers: unknown;
    };
    expect(body.versions).toEqual([
      { version: '1', lifecycle: 'current' },
      { version: '2', lifecycle: 'current' },
    ]);
    expect(body.routes).toEqual([
      { route: 'GET /v1/products', lifecycle: 'retired', sunset, successor },
    ]);
    expect(body.callers).toEqual(
      expect.arrayContaining([
        {
          caller: 'client:catalog-scraper',
          version: '1',
          route: 'GET /v1/products',
          routeLifecycle: 'retired',
          calls: expect.any(Number) as unknown,
          firstSeenAt: expect.any(String) as unknown,
          lastSeenAt: expect.any(String) as unknown,
        },
        expect.objectContaining({
          caller: 'client:catalog-scraper',
          version: '2',
          route: 'GET /v1/products',
        }),
      ]),
    );
    const metrics = await (await fetch(`${runtime.operatorUrl ?? ''}/metrics`)).text();
    expect(metrics).toMatch(
      /orderly_contract_route_calls_total\{[^}]*route="GET \/v1\/products"[^}]*lifecycle="retired"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(
      new RegExp(
        `orderly_contract_route_sunset\\{[^}]*route="GET /v1/products"[^}]*\\} ${Date.parse(sunset) / 1000}`,
      ),
    );
  });

  test('when the file names a route the API does not have, then the reload is refused naming the key and the known routes, and the previous lifecycle stays', async () => {
    writeRoutes(productsRoute('deprecated', 'GET /v1/product'));
    await eventually(() => {
      expect(live.live.status().reloadError).toMatch(/unknown route "GET \/v1\/product"/);
    });
    expect(live.live.status().reloadError).toContain('GET /v1/orders, POST /v1/orders');
    expect((await listProducts()).status).toBe(410);

    // At start the same key stops the gateway from starting.
    expect(() =>
      gatewayTestConfig({
        contract: {
          defaultVersion: '1',
          versions: { '1': { lifecycle: 'current' } },
          callersKept: 10,
          routes: { 'DELETE /v1/orders': { lifecycle: 'retired' } },
        },
      }),
    ).toThrow(/unknown route "DELETE \/v1\/orders"; the public routes are: .*POST \/v1\/orders/);

    writeRoutes();
    await eventually(async () => expect((await listProducts()).status).toBe(200));
  });

  test('the routes a lifecycle may name are exactly the public operations of the OpenAPI document', async () => {
    const document = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<string, Record<string, unknown>>;
    };
    const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((method) => ['get', 'post', 'put', 'patch', 'delete'].includes(method))
        .map((method) => `${method.toUpperCase()} ${path}`),
    );
    expect([...operations].sort()).toEqual([...publicRouteKeys].sort());
  });
});
