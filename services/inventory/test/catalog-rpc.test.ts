import { Code, ConnectError } from '@connectrpc/connect';
import { encodePageCursor, errorCodeHeader } from '@orderly/platform';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  allProducts,
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
    const products = await allProducts(app.client);
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
    const skus = (await allProducts(app.client)).map((p) => p.sku);
    expect(skus).toEqual([...skus].sort());
    expect(skus.length).toBeGreaterThanOrEqual(2);
  });

  test('when products are added while a client pages, then every product that existed before appears exactly once and none repeats', async () => {
    // Arrange
    for (let i = 0; i < 7; i++) await aProduct(app.client);
    const before = (await allProducts(app.client)).map((p) => p.sku);

    // Act: two products are added before each next page (SKUs are random: before and after the cursor).
    const seen: string[] = [];
    let cursor = '';
    do {
      const page = await app.client.listProducts({ limit: 3, cursor });
      seen.push(...page.products.map((p) => p.sku));
      cursor = page.nextCursor;
      if (cursor) for (let i = 0; i < 2; i++) await aProduct(app.client);
    } while (cursor);

    // Assert
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((sku) => before.includes(sku))).toEqual(before);
    expect(seen).toEqual([...seen].sort());
  });

  test('when a page is asked for, then it holds at most the limit (the maximum when 0 or more) and the last page has no cursor', async () => {
    const first = await app.client.listProducts({ limit: 1 });
    expect(first.products).toHaveLength(1);
    expect(first.nextCursor).not.toBe('');
    const all = await app.client.listProducts({ limit: 0 });
    expect(all.products.length).toBeLessThanOrEqual(app.config.service.listLimitMax);
  });

  test('when a cursor was not given out by the product list, then it is INVALID_ARGUMENT with CURSOR_INVALID', async () => {
    for (const cursor of [
      '%%%',
      'e30',
      encodePageCursor('orders', ['x', 'y']),
      encodePageCursor('products', ['lower-case']),
    ])
      expect(await rpcError(app.client.listProducts({ cursor })), cursor).toEqual({
        code: Code.InvalidArgument,
        errorCode: 'CURSOR_INVALID',
      });
  });
});
