import { runServiceMain } from '@orderly/platform';
import { checkSagaTimeouts, createInventoryService, inventoryConfigSchema } from './app.js';

// Not awaited: the bundle for single-file binaries is CommonJS, which has no top-level await;
// runServiceMain reports its own failures and exits non-zero.
void runServiceMain({
  name: 'inventory',
  configSchema: inventoryConfigSchema,
  checkDocument: checkSagaTimeouts,
  start: async (config) => {
    const runtime = await createInventoryService({ config });
    await runtime.start();
    return runtime;
  },
});
