import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { gatewayConfigSchema, gatewayService } from '@orderly/gateway';
import { identityService } from '@orderly/identity';
import { inventoryService } from '@orderly/inventory';
import { orderService } from '@orderly/order';
import { createRpcClient, MemoryBus, type ServiceRuntime } from '@orderly/platform';
import {
  eventually,
  startTestService,
  testCaller,
  testLiveConfig,
  testWorkloadIdentity,
  type TestService,
} from '@orderly/platform/testing';

/** Rate limits no request of this test reaches. */
const generousRateLimits = {
  perAddress: { burst: 1_000_000, perMinute: 1_000_000 },
  perUser: { burst: 1_000_000, perMinute: 1_000_000 },
  login: { burst: 1_000_000, perMinute: 1_000_000 },
  loginAccount: { burst: 1_000_000, perMinute: 1_000_000 },
};

interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  json(): unknown;
}

/**
 * Issue 17 through HTTP against the real identity, order and inventory services (PostgreSQL, one
 * in-memory bus): the public API in versions 1 and 2 side by side, the lifecycle of a version followed live
 * from the configuration file (deprecated headers, 410 once retired), the refusals of a wrong
 * version or body, and the callers of old versions on the operator port.
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-contract-'));
const configFile = join(dir, 'gateway.yaml');
const flagsFile = join(dir, 'flags.json');
const sunset = '2027-06-30T00:00:00Z';
const deprecatedAt = '2026-12-01T00:00:00Z';

function writeContract(v1: 'current' | 'deprecated' | 'retired', defaultVersion = '1'): void {
  const v1Extra =
    v1 === 'current'
      ? ''
      : `\n          sunset: '${sunset}'\n          successor: '2'\n          deprecatedAt: '${deprecatedAt}'`;
  writeFileSync(
    configFile,
    `configReload:\n  debounceMs: 20\n  pollIntervalMs: 100\nservices:\n  gateway:\n    contract:\n      defaultVersion: '${defaultVersion}'\n      callersKept: 100\n      versions:\n        '1':\n          lifecycle: ${v1}${v1Extra}\n        '2':\n          lifecycle: current\n`,
  );
}

function writeFlags(defaultVariant: 'configured' | 'two'): void {
  writeFileSync(
    flagsFile,
    JSON.stringify({
      $schema: 'https://flagd.dev/schema/v0/flags.json',
      flags: {
        'contract-default-version': {
          state: 'ENABLED',
          variants: { configured: '', one: '1', two: '2' },
          defaultVariant,
        },
      },
    }),
  );
}

const suffix = randomBytes(3).toString('hex').toUpperCase();
const euroSku = `SKU-EUR-${suffix}`;
const dollarSku = `SKU-USD-${suffix}`;

const bus = new MemoryBus();
const services: TestService<unknown>[] = [];
const tokens = new Map<string, string>();
let live: ReturnType<typeof testLiveConfig<typeof gatewayConfigSchema>>;
let gateway: ServiceRuntime;
let url: string;

beforeAll(async () => {
  writeContract('current');
  writeFlags('configured');
  const inventory = await startTestService(inventoryService, { bus });
  services.push(inventory);
  const order = await startTestService(orderService, {
    bus,
    service: { riskAssessment: false },
  });
  services.push(order);
  const identity = await startTestService(identityService);
  services.push(identity);
  live = testLiveConfig('gateway', gatewayConfigSchema, configFile, {
    platform: { flags: { file: flagsFile } },
    service: {
      orderServiceUrl: order.url,
      inventoryServiceUrl: inventory.url,
      identityServiceUrl: identity.url,
      rateLimits: generousRateLimits,
    },
  });
  ({ runtime: gateway, url } = await startTestService(gatewayService, { config: live.live }));

  const catalog = createRpcClient(InventoryService, {
    baseUrl: inventory.url,
    defaultTimeoutMs: 10_000,
    identity: await testCaller('operator', 'inventory'),
  });
  await catalog.upsertProduct({
    sku: euroSku,
    name: 'Euro mug',
    priceCents: 2599n,
    currency: 'EUR',
  });
  await catalog.upsertProduct({
    sku: dollarSku,
    name: 'Dollar mug',
    priceCents: 1999n,
    currency: 'USD',
  });
  await catalog.adjustStock({ sku: euroSku, delta: 100 });
  await catalog.adjustStock({ sku: dollarSku, delta: 100 });
}, 60_000);

afterAll(async () => {
  await gateway?.stop();
  live?.close();
  for (const service of services.reverse()) await service.stop();
  await bus.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A customer of the real identity service (registered and logged in through the gateway): its token. */
async function tokenOf(customer: string): Promise<string> {
  const known = tokens.get(customer);
  if (known) return known;
  const credentials = { email: `${customer}@example.com`, password: 'correct horse battery' };
  const post = (path: string) =>
    fetch(`${url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(credentials),
    });
  expect((await post('/v1/auth/register')).status).toBe(201);
  const { accessToken } = (await (await post('/v1/auth/login')).json()) as { accessToken: string };
  tokens.set(customer, accessToken);
  return accessToken;
}

/** The token's subject (the user id), as the callers report names it. */
function subjectOf(token: string): string {
  const payload = token.split('.')[1] ?? '';
  return (JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { sub: string }).sub;
}

async function call(
  method: 'GET' | 'POST',
  path: string,
  options: { customer?: string; version?: string; body?: unknown } = {},
): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.customer ? { authorization: `Bearer ${await tokenOf(options.customer)}` } : {}),
      ...(options.version === undefined ? {} : { 'x-contract-version': options.version }),
      ...(options.body === undefined
        ? {}
        : { 'content-type': 'application/json', 'idempotency-key': randomUUID() }),
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    text,
    json: () => JSON.parse(text) as unknown,
  };
}

const v1Body = (sku = euroSku) => ({ lines: [{ sku, quantity: 2 }], paymentMethod: 'pm_card_ok' });
const v2Body = (sku = euroSku) => ({ currency: 'EUR', ...v1Body(sku) });

async function reservedOrder(customer: string, orderId: string, version: string) {
  return eventually(async () => {
    const read = await call('GET', `/v1/orders/${orderId}`, { customer, version });
    expect(read.status).toBe(200);
    const body = read.json() as { status: string };
    expect(body.status).not.toBe('PENDING');
    return read;
  });
}

describe('public API versions 1 and 2 side by side', () => {
  test('when the same order is placed in v1 and in v2, then each reads back in both versions, money as cents in v1 and as { amountMinor, currency } in v2', async () => {
    const customer = `contract-${randomUUID()}`;
    const placedV1 = await call('POST', '/v1/orders', { customer, body: v1Body() });
    const placedV2 = await call('POST', '/v1/orders', { customer, version: '2', body: v2Body() });
    expect(placedV1.status, placedV1.text).toBe(202);
    expect(placedV2.status, placedV2.text).toBe(202);
    expect(placedV1.headers.get('x-contract-version')).toBe('1');
    expect(placedV2.headers.get('x-contract-version')).toBe('2');
    expect(placedV2.json()).toMatchObject({ currency: 'EUR', status: 'PENDING' });
    expect(placedV2.json()).not.toHaveProperty('totalCents');

    for (const placed of [placedV1, placedV2]) {
      const { orderId } = placed.json() as { orderId: string };
      const v1 = await reservedOrder(customer, orderId, '1');
      expect(v1.headers.get('x-contract-version')).toBe('1');
      expect(v1.json()).toMatchObject({
        status: 'STOCK_RESERVED',
        totalCents: 5198,
        lines: [{ sku: euroSku, quantity: 2, unitPriceCents: 2599 }],
      });
      expect(v1.json()).not.toHaveProperty('total');
      const v2 = await call('GET', `/v1/orders/${orderId}`, { customer, version: '2' });
      expect(v2.headers.get('x-contract-version')).toBe('2');
      expect(v2.json()).toMatchObject({
        status: 'STOCK_RESERVED',
        currency: 'EUR',
        total: { amountMinor: '5198', currency: 'EUR' },
        lines: [{ sku: euroSku, quantity: 2, unitPrice: { amountMinor: '2599', currency: 'EUR' } }],
      });
      expect(v2.json()).not.toHaveProperty('totalCents');
    }
    const listed = await call('GET', '/v1/orders', { customer, version: '2' });
    expect((listed.json() as { orders: unknown[] }).orders).toHaveLength(2);
    expect(listed.json()).toMatchObject({ orders: [{ currency: 'EUR' }, { currency: 'EUR' }] });

    const products = await call('GET', '/v1/products?limit=100', { version: '2' });
    expect(products.json()).toMatchObject({
      products: expect.arrayContaining([
        {
          sku: dollarSku,
          name: 'Dollar mug',
          price: { amountMinor: '1999', currency: 'USD' },
          available: 100,
        },
      ]) as unknown,
    });
  });

  test('when a v2 order names a currency its products are not priced in, then inventory refuses it and the order is cancelled OUT_OF_STOCK with nothing reserved', async () => {
    const customer = `contract-${randomUUID()}`;
    const placed = await call('POST', '/v1/orders', {
      customer,
      version: '2',
      body: v2Body(dollarSku),
    });
    expect(placed.status, placed.text).toBe(202);
    const { orderId } = placed.json() as { orderId: string };
    const read = await reservedOrder(customer, orderId, '2');
    expect(read.json()).toMatchObject({ status: 'CANCELLED', cancellationReason: 'OUT_OF_STOCK' });
    expect(read.json()).not.toHaveProperty('total');
  });

  test('when the version or the body is wrong, then 400 with a stable code that names the versions or the field, and the answer still says its version', async () => {
    const customer = `contract-${randomUUID()}`;
    for (const version of ['3', 'v2', '1.0', '']) {
      const refused = await call('GET', '/v1/products', { version });
      expect(refused.status, version).toBe(400);
      expect(refused.json()).toMatchObject({ error: { code: 'CONTRACT_VERSION_UNSUPPORTED' } });
      expect((refused.json() as { error: { message: string } }).error.message).toMatch(
        /supported: 1, 2/,
      );
      expect(refused.headers.get('x-contract-version')).toBe('1');
    }

    const v2AsV1 = await call('POST', '/v1/orders', { customer, version: '1', body: v2Body() });
    expect(v2AsV1.status).toBe(400);
    expect(v2AsV1.json()).toMatchObject({ error: { code: 'CONTRACT_VERSION_MISMATCH' } });
    expect(v2AsV1.text).toMatch(/body\/currency belongs to contract version 2/);

    const v1AsV2 = await call('POST', '/v1/orders', { customer, version: '2', body: v1Body() });
    expect(v1AsV2.status).toBe(400);
    expect(v1AsV2.json()).toMatchObject({ error: { code: 'CONTRACT_VERSION_MISMATCH' } });
    expect(v1AsV2.text).toMatch(/currency is required in contract version 2/);
    expect(v1AsV2.headers.get('x-contract-version')).toBe('2');

    const mixed = await call('POST', '/v1/orders', {
      customer,
      version: '2',
      body: {
        currency: 'EUR',
        paymentMethod: 'pm_card_ok',
        lines: [
          { sku: euroSku, quantity: 1, unitPrice: { amountMinor: '2599', currency: 'EUR' } },
          { sku: dollarSku, quantity: 1, unitPrice: { amountMinor: '1999', currency: 'USD' } },
        ],
      },
    });
    expect(mixed.status).toBe(400);
    expect(mixed.json()).toMatchObject({ error: { code: 'MIXED_CURRENCIES' } });
    expect(mixed.text).toMatch(/lines\/1\/unitPrice is in USD, the order in EUR/);

    const noToken = await call('GET', '/v1/orders', { version: '2' });
    expect(noToken.status).toBe(401);
    expect(noToken.headers.get('x-contract-version')).toBe('2');
  });

  test('when the flag contract-default-version names 2, then a request without the header is served in v2; back to configured, in v1', async () => {
    writeFlags('two');
    await eventually(
      async () => {
        const products = await call('GET', '/v1/products?limit=1');
        expect(products.headers.get('x-contract-version')).toBe('2');
        expect(products.json()).toMatchObject({ products: [{ price: {} }] });
      },
      { timeoutMs: 20_000, intervalMs: 200 },
    );
    writeFlags('configured');
    await eventually(
      async () =>
        expect((await call('GET', '/v1/products')).headers.get('x-contract-version')).toBe('1'),
      { timeoutMs: 20_000, intervalMs: 200 },
    );
  });

  test('when v1 is deprecated and then retired in the configuration file, then v1 calls get Deprecation/Sunset/Link, then 410 naming the successor and the sunset, and every such call is counted by caller', async () => {
    const subject = `old-client-${randomUUID()}`;
    const sub = subjectOf(await tokenOf(subject));
    writeContract('deprecated');
    await eventually(async () =>
      expect((await call('GET', '/v1/products')).headers.get('deprecation')).toBe(
        `@${Date.parse(deprecatedAt) / 1000}`,
      ),
    );
    const deprecated = await call('GET', '/v1/orders', { customer: subject, version: '1' });
    expect(deprecated.status).toBe(200);
    expect(deprecated.headers.get('sunset')).toBe(new Date(sunset).toUTCString());
    expect(deprecated.headers.get('link')).toBe('</openapi/v2.json>; rel="successor-version"');
    await call('GET', '/v1/orders', { customer: subject });
    // v2 is current: no deprecation headers, not counted.
    const current = await call('GET', '/v1/orders', { customer: subject, version: '2' });
    expect(current.headers.get('deprecation')).toBeNull();

    writeContract('retired');
    const retired = await eventually(async () => {
      const answer = await call('GET', '/v1/orders', { customer: subject, version: '1' });
      expect(answer.status).toBe(410);
      return answer;
    });
    expect(retired.headers.get('x-contract-version')).toBe('1');
    expect(retired.json()).toEqual({
      error: {
        code: 'CONTRACT_VERSION_RETIRED',
        message: `contract version 1 was retired on ${sunset}; use version 2 (X-Contract-Version: 2)`,
        version: '1',
        successor: '2',
        sunset,
      },
    });
    const stillServed = await call('GET', '/v1/orders', { customer: subject, version: '2' });
    expect(stillServed.status).toBe(200);

    const operator = await testWorkloadIdentity('operator');
    const report = await fetch(`${gateway.operatorUrl ?? ''}/admin/contracts/callers`, {
      headers: { authorization: await operator.authorization('gateway') },
    });
    expect(report.status).toBe(200);
    const { versions, callers } = (await report.json()) as {
      versions: unknown[];
      callers: { caller: string; version: string; route: string; calls: number }[];
    };
    expect(versions).toEqual([
      { version: '1', lifecycle: 'retired', sunset, successor: '2' },
      { version: '2', lifecycle: 'current' },
    ]);
    expect(callers).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          caller: `sub:${sub}`,
          version: '1',
          route: 'GET /v1/orders',
          calls: expect.any(Number) as unknown,
          firstSeenAt: expect.any(String) as unknown,
          lastSeenAt: expect.any(String) as unknown,
        }),
        expect.objectContaining({
          caller: 'net:127.0.0.0/24',
          version: '1',
          route: 'GET /v1/products',
        }),
      ]),
    );
    expect(callers.filter((c) => c.caller === `sub:${sub}` && c.version === '2')).toEqual([]);
    // The public port does not serve it.
    expect((await fetch(`${url}/admin/contracts/callers`)).status).toBe(404);

    const metrics = await (await fetch(`${gateway.operatorUrl ?? ''}/metrics`)).text();
    expect(metrics).toMatch(
      /orderly_contract_calls_total\{[^}]*contract_version="1"[^}]*lifecycle="retired"[^}]*\} [1-9]/,
    );
    expect(metrics).toMatch(
      new RegExp(
        `orderly_contract_sunset\\{[^}]*contract_version="1"[^}]*\\} ${Date.parse(sunset) / 1000}`,
      ),
    );
    writeContract('current');
    await eventually(async () =>
      expect((await call('GET', '/v1/orders', { customer: subject })).status).toBe(200),
    );
  });

  test('when the per-version documents are diffed, then v1 → v2 is breaking: totalCents removed, total added; a bad version is 400', async () => {
    const v1 = (await (await fetch(`${url}/openapi/v1.json`)).json()) as {
      info: { version: string };
    };
    const v2 = (await (await fetch(`${url}/openapi/v2.json`)).json()) as {
      info: { version: string };
    };
    expect(v1.info.version).toBe('1.0.0');
    expect(v2.info.version).toBe('2.0.0');
    // The versioned operations (orders, products) carry only their version's fields.
    const versioned = (document: unknown) => {
      const { paths } = document as { paths: Record<string, unknown> };
      return JSON.stringify(
        Object.entries(paths).filter(([path]) => /^\/v1\/(orders|products)/.test(path)),
      );
    };
    expect(versioned(v2)).not.toMatch(/totalCents|priceCents/);
    expect(versioned(v2)).toMatch(/amountMinor/);
    expect(versioned(v1)).not.toMatch(/amountMinor/);
    expect(versioned(v1)).toMatch(/totalCents/);

    const diff = await fetch(`${url}/openapi/contract-diff?from=1&to=2`);
    expect(diff.status).toBe(200);
    const body = (await diff.json()) as {
      from: string;
      to: string;
      breaking: boolean;
      changes: { kind: string; path: string; breaking: boolean }[];
    };
    expect(body).toMatchObject({ from: '1', to: '2', breaking: true });
    // The header that picks the version is the same in both documents: not a change of the API.
    expect(body.changes.filter((c) => c.path.includes('X-Contract-Version'))).toEqual([]);
    expect(body.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          kind: 'removed',
          breaking: true,
          path: expect.stringMatching(/totalCents/) as unknown,
        }),
        expect.objectContaining({
          kind: 'added',
          path: expect.stringMatching(/total\b/) as unknown,
        }),
      ]),
    );
    for (const query of ['from=1&to=9', 'from=x&to=2', 'to=2']) {
      const bad = await fetch(`${url}/openapi/contract-diff?${query}`);
      expect(bad.status, query).toBe(400);
      expect(await bad.json()).toMatchObject({ error: { code: 'CONTRACT_DIFF_VERSION_INVALID' } });
    }
  });
});
