import { afterAll, beforeAll, expect, test } from 'vitest';
import {
  callEveryMethod,
  startTestService,
  testCaller,
  type TestService,
} from '@orderly/platform/testing';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { inventoryService, type InventoryConfig } from '../src/service.js';
import { inventoryTestConfig } from './test-app.js';

/** Issue 13 item 3: every InventoryService RPC (AdjustStock included) needs an allowlisted workload identity. */
let inventory: TestService<InventoryConfig>;
let url: string;

beforeAll(async () => {
  inventory = await startTestService(inventoryService, { config: inventoryTestConfig() });
  ({ url } = inventory);
});

afterAll(async () => {
  await inventory?.stop();
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
