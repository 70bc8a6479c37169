import { runServiceMain } from '@orderly/platform';
import { createInventoryService, inventoryConfigSchema } from './app.js';

await runServiceMain({
  name: 'inventory',
  configSchema: inventoryConfigSchema,
  start: async (config) => {
    const runtime = await createInventoryService({ config });
    await runtime.start();
    return runtime;
  },
});
