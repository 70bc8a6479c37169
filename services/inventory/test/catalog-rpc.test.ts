import { Code, ConnectError } from '@connectrpc/connect';
import { errorCodeHeader } from '@orderly/platform';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  aProduct,
  aSku,
  conservationReport,
  startTestApp,
  stockOf,
  type TestApp,
} from './test-app.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.stop();
});

async function rpcError(call: Promise<unknown>): Promise<{ code: Code; errorCode: string | null }> {
  try {
    await call;
  } catch (error) {
    const connectError = ConnectError.from(error);
    return { code: connectError.code, errorCode: connectError.metadata.get(errorCodeHeader) };
  }
  throw new Error('expected the call to fail');
}

describe('UpsertProduct', () => {
  test('when a new product is upserted, then it is listed with no stock', async () => {
    const sku = aSku();
    const { product } = await app.client.upsertProduct({
      sku,
      name: ' Espresso cup ',
      priceCents: 750n,
    });
    expect(product).toMatchObject({
      sku,
      name: 'Espresso cup',
      priceCents: 750n,
      available: 0,
      reserved: 0,
    });
    const { products } = await app.client.listProducts({});
    expect(products.find((p) => p.sku === sku)).toMatchObject({
      name: 'Espresso cup',
      priceCents: 750n,
    });
  });

  test('when an existing product is upserted, then it is renamed and repriced and keeps its stock', async () => {
    const sku = await aProduct(app.client, { stock: 7, priceCents: 100n });
    const { product } = await app.client.upsertProduct({ sku, name: 'Renamed', priceCents: 250n });
    expect(product).toMatchObject({
      sku,
      name: 'Renamed',
      priceCents: 250n,
      available: 7,
      reserved: 0,
    });
  });

  test.each([
    ['an invalid sku', { sku: 'bad sku', name: 'Mug', priceCents: 1n }],
    ['an empty name', { sku: 'SKU-OK', name: '', priceCents: 1n }],
    ['a name longer than 200 characters', { sku: 'SKU-OK', name: 'x'.repeat(201), priceCents: 1n }],
    ['a negative price', { sku: 'SKU-OK', name: 'Mug', priceCents: -5n }],
  ])(
    'when given %s, then it answers InvalidArgument with INVENTORY_INVALID_PRODUCT',
    async (_what, request) => {
      expect(await rpcError(app.client.upsertProduct(request))).toEqual({
        code: Code.InvalidArgument,
        errorCode: 'INVENTORY_INVALID_PRODUCT',
      });
    },
  );
});

describe('AdjustStock', () => {
  test('when stock is added and removed, then available follows and the ledger matches', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    const { product } = await app.client.adjustStock({ sku, delta: -4 });
    expect(product).toMatchObject({ sku, available: 6, reserved: 0 });
    const row = (await conservationReport(app.runtime)).find((r) => r.sku === sku);
    expect(row).toEqual({ sku, available: 6, reserved: 0, sold: 0, ledger: 6 });
  });

  test('when the delta would make available stock negative, then it answers a conflict and nothing changes', async () => {
    const sku = await aProduct(app.client, { stock: 3 });
    expect(await rpcError(app.client.adjustStock({ sku, delta: -4 }))).toEqual({
      code: Code.AlreadyExists,
      errorCode: 'INVENTORY_STOCK_WOULD_GO_NEGATIVE',
    });
    expect(await stockOf(app.client, sku)).toEqual({ available: 3, reserved: 0 });
  });

  test('when the SKU is unknown, then it answers NotFound with INVENTORY_UNKNOWN_SKU', async () => {
    expect(await rpcError(app.client.adjustStock({ sku: aSku(), delta: 5 }))).toEqual({
      code: Code.NotFound,
      errorCode: 'INVENTORY_UNKNOWN_SKU',
    });
  });

  test('when the SKU is malformed or the delta is zero, then it answers InvalidArgument', async () => {
    expect(await rpcError(app.client.adjustStock({ sku: 'lower-case', delta: 5 }))).toEqual({
      code: Code.InvalidArgument,
      errorCode: 'INVENTORY_INVALID_STOCK_ADJUSTMENT',
    });
    const sku = await aProduct(app.client, { stock: 3 });
    expect(await rpcError(app.client.adjustStock({ sku, delta: 0 }))).toEqual({
      code: Code.InvalidArgument,
      errorCode: 'INVENTORY_INVALID_STOCK_ADJUSTMENT',
    });
  });
});

describe('ListProducts', () => {
  test('when products exist, then they are listed in SKU order', async () => {
    await aProduct(app.client);
    await aProduct(app.client);
    const skus = (await app.client.listProducts({})).products.map((p) => p.sku);
    expect(skus).toEqual([...skus].sort());
    expect(skus.length).toBeGreaterThanOrEqual(2);
  });
});
