import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { IdentityService } from '@orderly/identity-contract/identity_service';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { OrderService } from '@orderly/order-contract/order_service';
import type { ServiceRuntime } from '@orderly/platform';
import { eventually, startTestService, testLiveConfig } from '@orderly/platform/testing';
import { gatewayConfigSchema, gatewayService } from '../src/service.js';
import { customerToken, fakeIdentityService } from './fake-identity.js';
import {
  fakeInventoryService,
  fakeOrderService,
  generousRateLimits,
  send,
  startUpstream,
} from './test-gateway.js';

/**
 * The gateway's limits follow its configuration file (a reloaded key rebuilds the HTTP app, OpenAPI
 * included), and the `order-max-lines` flag tightens the line limit for the customers it targets.
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-gateway-live-'));
const configFile = join(dir, 'gateway.yaml');
const flagsFile = join(dir, 'flags.json');
const gatewayYaml = (maxLinesPerOrder: number) =>
  `configReload:\n  debounceMs: 20\n  pollIntervalMs: 100\nservices:\n  gateway:\n    maxLinesPerOrder: ${maxLinesPerOrder}\n`;
writeFileSync(configFile, gatewayYaml(5));
writeFileSync(
  flagsFile,
  JSON.stringify({
    $schema: 'https://flagd.dev/schema/v0/flags.json',
    flags: {
      'order-max-lines': {
        state: 'ENABLED',
        variants: { configured: 0, one: 1 },
        defaultVariant: 'configured',
        targeting: { if: [{ in: [{ var: 'targetingKey' }, ['limited-customer']] }, 'one', null] },
      },
    },
  }),
);

const upstreams: { close(): Promise<void> }[] = [];
let live: ReturnType<typeof testLiveConfig<typeof gatewayConfigSchema>>;
let runtime: ServiceRuntime;
let url: string;

beforeAll(async () => {
  const orders = await startUpstream((router) =>
    router.service(OrderService, fakeOrderService().impl),
  );
  const inventory = await startUpstream((router) =>
    router.service(InventoryService, fakeInventoryService().impl),
  );
  const identity = await startUpstream((router) =>
    router.service(IdentityService, fakeIdentityService().impl),
  );
  upstreams.push(orders, inventory, identity);
  live = testLiveConfig('gateway', gatewayConfigSchema, configFile, {
    platform: { flags: { file: flagsFile } },
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

async function placeOrder(customer: string, lineCount: number) {
  const lines = Array.from({ length: lineCount }, (_, i) => ({ sku: `SKU-${i + 1}`, quantity: 1 }));
  return send(url, {
    method: 'POST',
    path: '/v1/orders',
    headers: {
      authorization: `Bearer ${await customerToken(customer)}`,
      'idempotency-key': randomUUID(),
      'content-type': 'application/json',
    },
    body: JSON.stringify({ lines, paymentMethod: 'pm_card_ok' }),
  });
}

describe('gateway limits and flags at run time', () => {
  test('when order-max-lines targets a customer, then their orders are limited to its value; other customers keep the configured limit', async () => {
    const limited = await placeOrder('limited-customer', 2);
    expect(limited.status).toBe(400);
    expect(limited.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    expect(limited.text).toMatch(/at most 1 lines/);
    expect((await placeOrder('limited-customer', 1)).status).toBe(202);
    expect((await placeOrder('other-customer', 4)).status).toBe(202);
  });

  test('when maxLinesPerOrder is lowered in the file, then the gateway enforces and documents the new limit without a restart', async () => {
    expect((await placeOrder('other-customer', 3)).status).toBe(202);

    writeFileSync(configFile, gatewayYaml(2));

    await eventually(async () => expect((await placeOrder('other-customer', 3)).status).toBe(400));
    expect((await placeOrder('other-customer', 2)).status).toBe(202);
    const openapi = (await (await fetch(`${url}/openapi.json`)).json()) as {
      paths: Record<
        string,
        {
          post?: {
            requestBody: {
              content: Record<string, { schema: { properties: { lines: { maxItems: number } } } }>;
            };
          };
        }
      >;
    };
    expect(
      openapi.paths['/v1/orders']?.post?.requestBody.content['application/json']?.schema.properties
        .lines.maxItems,
    ).toBe(2);
  });
});
