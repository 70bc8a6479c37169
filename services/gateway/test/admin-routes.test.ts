import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminToken, customerToken } from './fake-identity.js';
import { bearer, send, startTestGateway, type TestGateway } from './test-gateway.js';

let gateway: TestGateway;
let admin: Record<string, string>;
let customer: Record<string, string>;
beforeAll(async () => {
  gateway = await startTestGateway();
  admin = { ...bearer(await adminToken()), 'content-type': 'application/json' };
  customer = { ...bearer(await customerToken('customer-7')), 'content-type': 'application/json' };
});
afterAll(async () => {
  await gateway.stop();
});

const post = (path: string, headers: Record<string, string>, body?: unknown) =>
  send(gateway.url, {
    method: 'POST',
    path,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('admin routes', () => {
  test('when an admin upserts a product and adds stock, then inventory gets both and the product is answered', async () => {
    const upserted = await post('/v1/admin/products', admin, {
      sku: 'SKU-NEW',
      name: 'New kettle',
      priceCents: 2599,
    });
    const stocked = await post('/v1/admin/stock', admin, { sku: 'SKU-NEW', delta: 12 });

    expect(upserted.status).toBe(200);
    expect(upserted.json()).toEqual({
      sku: 'SKU-NEW',
      name: 'New kettle',
      priceCents: 2599,
      available: 0,
    });
    expect(stocked.status).toBe(200);
    expect(stocked.json()).toMatchObject({ sku: 'SKU-NEW', available: 12 });
  });

  test('when stock is adjusted for an unknown sku or below zero, then inventory’s 404 and 409 come through', async () => {
    await post('/v1/admin/products', admin, { sku: 'SKU-FEW', name: 'Few', priceCents: 1 });

    const unknown = await post('/v1/admin/stock', admin, { sku: 'SKU-NONE', delta: 1 });
    const negative = await post('/v1/admin/stock', admin, { sku: 'SKU-FEW', delta: -1 });

    expect(unknown.status).toBe(404);
    expect(unknown.json()).toMatchObject({ error: { code: 'INVENTORY_UNKNOWN_SKU' } });
    expect(negative.status).toBe(409);
  });

  test.each([
    ['/v1/admin/products', { sku: 'SKU-X', name: 'X', priceCents: 1 }],
    ['/v1/admin/stock', { sku: 'SKU-NEW', delta: 1 }],
    ['/v1/admin/keys/rotate', undefined],
  ])(
    'when a customer calls %s, then it is 403 AUTH_FORBIDDEN and nothing changes',
    async (path, body) => {
      const before = {
        inventory: { ...gateway.inventory.calls },
        identity: gateway.identity.writes(),
      };

      const response = await post(path, customer, body);

      expect(response.status).toBe(403);
      expect(response.headers['www-authenticate']).toBe('Bearer error="insufficient_scope"');
      expect(response.json()).toMatchObject({ error: { code: 'AUTH_FORBIDDEN' } });
      expect(gateway.inventory.calls).toEqual(before.inventory);
      expect(gateway.identity.writes()).toEqual(before.identity);
    },
  );

  test.each(['/v1/admin/products', '/v1/admin/stock', '/v1/admin/keys/rotate'])(
    'when %s is called without a token, then it is 401',
    async (path) => {
      const response = await post(path, { 'content-type': 'application/json' }, {});
      expect(response.status).toBe(401);
      expect(response.json()).toMatchObject({ error: { code: 'AUTH_TOKEN_MISSING' } });
    },
  );

  test('when an admin rotates the signing key, then identity rotates and the new and retiring kids are answered', async () => {
    const before = gateway.identity.keys.current.kid;

    const response = await post('/v1/admin/keys/rotate', bearer(await adminToken()));

    expect(response.status).toBe(200);
    expect(response.json()).toEqual({
      kid: gateway.identity.keys.current.kid,
      retiringKid: before,
    });
  });

  test('when the rotation request has a body, then it is 400 and no key is rotated', async () => {
    const rotations = gateway.identity.calls.rotate;
    const response = await post('/v1/admin/keys/rotate', admin, { force: true });
    expect(response.status).toBe(400);
    expect(gateway.identity.calls.rotate).toBe(rotations);
  });
});
