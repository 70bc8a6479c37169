import { runServiceMain } from '@orderly/platform';
import { createGatewayService, gatewayConfigSchema } from './app.js';

await runServiceMain({
  name: 'gateway',
  configSchema: gatewayConfigSchema,
  start: async (config) => {
    const runtime = await createGatewayService({ config });
    await runtime.start();
    return runtime;
  },
});
