import { runServiceMain } from '@orderly/platform';
import { createOrderService, orderConfigSchema } from './app.js';

// Not awaited: the bundle for single-file binaries is CommonJS, which has no top-level await;
// runServiceMain reports its own failures and exits non-zero.
void runServiceMain({
  name: 'order',
  configSchema: orderConfigSchema,
  start: async (config) => {
    const runtime = await createOrderService({ config });
    await runtime.start();
    return runtime;
  },
});
