import { runServiceMain } from '@orderly/platform';
import { createOrderService, orderConfigSchema } from './app.js';

await runServiceMain({
  name: 'order',
  configSchema: orderConfigSchema,
  start: async (config) => {
    const runtime = await createOrderService({ config });
    await runtime.start();
    return runtime;
  },
});
