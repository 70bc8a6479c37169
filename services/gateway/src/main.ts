import { runServiceMain } from '@orderly/platform';
import { createGatewayService, gatewayConfigSchema } from './app.js';

// Not awaited: the bundle for single-file binaries is CommonJS, which has no top-level await;
// runServiceMain reports its own failures and exits non-zero.
void runServiceMain({
  name: 'gateway',
  configSchema: gatewayConfigSchema,
  start: async (config) => {
    const runtime = await createGatewayService({ config });
    await runtime.start();
    return runtime;
  },
});
