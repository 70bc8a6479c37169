import { afterAll, beforeAll, expect, test } from 'vitest';
import { MemoryBus, type ServiceRuntime } from '@orderly/platform';
import { callEveryMethod, dropTestDatabase, testCaller } from '@orderly/platform/testing';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { createInventoryService } from '../src/app.js';
import { inventoryTestConfig } from './test-app.js';

/** Issue 13 item 3: every InventoryService RPC (AdjustStock included) needs an allowlisted workload identity. */
const config = inventoryTestConfig();
let runtime: ServiceRuntime;
let url: string;

beforeAll(async () => {
  runtime = await createInventoryService({ config, bus: new MemoryBus() });
  ({ url } = await runtime.start());
});

afterAll(async () => {
  await runtime?.stop();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
});

const everyMethod = InventoryService.methods.map((m) => m.name);

test('when any inventory RPC is called without a service token, then it is UNAUTHENTICATED with CALLER_UNAUTHENTICATED', async () => {
  const outcomes = await callEveryMethod(InventoryService, url);
  for (const method of everyMethod)
    expect(outcomes[method], method).toEqual({
      code: 'unauthenticated',
      errorCode: 'CALLER_UNAUTHENTICATED',
    });
});

test('when any inventory RPC is called by a service on no allowlist (order), then it is PERMISSION_DENIED with CALLER_NOT_ALLOWED', async () => {
  const outcomes = await callEveryMethod(
    InventoryService,
    url,
    await testCaller('order', 'inventory'),
  );
  for (const method of everyMethod)
    expect(outcomes[method], method).toEqual({
      code: 'permission_denied',
      errorCode: 'CALLER_NOT_ALLOWED',
    });
});

test('when the operator calls, then it gets past the caller check of every inventory RPC', async () => {
  const outcomes = await callEveryMethod(
    InventoryService,
    url,
    await testCaller('operator', 'inventory'),
  );
  for (const method of everyMethod)
    expect(outcomes[method]?.errorCode ?? 'ok', method).not.toMatch(/^CALLER_/);
});
