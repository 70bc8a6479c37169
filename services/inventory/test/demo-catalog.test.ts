import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { dropTestDatabase } from '@orderly/platform/testing';
import { demoCatalog } from '../src/domain/demo-catalog.js';
import {
  conservationReport,
  inventoryTestConfig,
  startTestApp,
  stockOf,
  type TestApp,
} from './test-app.js';

const config = inventoryTestConfig({ seedDemoCatalog: true });
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ config, keepDatabase: true });
});
afterAll(async () => {
  await app.stop();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
});

describe('demo catalog', () => {
  test('when the service starts on an empty catalog, then the demo products are listed with their stock', async () => {
    const { products } = await app.client.listProducts({});
    expect(products.map((p) => p.sku)).toEqual(demoCatalog.map((p) => p.sku).sort());
    expect(await stockOf(app.client, 'SKU-GRINDER')).toEqual({ available: 5, reserved: 0 });
    for (const row of await conservationReport(app.runtime)) expect(row.ledger).toBe(row.available);
  });

  test('when the service starts again on a catalog that exists, then nothing is seeded again', async () => {
    await app.client.adjustStock({ sku: 'SKU-MUG', delta: -10 });
    await app.stop();

    app = await startTestApp({ config, keepDatabase: true });

    const { products } = await app.client.listProducts({});
    expect(products).toHaveLength(demoCatalog.length);
    expect(await stockOf(app.client, 'SKU-MUG')).toEqual({ available: 990, reserved: 0 });
    for (const row of await conservationReport(app.runtime)) expect(row.ledger).toBe(row.available);
  });
});
