import { runServiceMain } from '@orderly/platform';
import { createPaymentService, paymentConfigSchema } from './app.js';

// Not awaited: the bundle for single-file binaries is CommonJS, which has no top-level await;
// runServiceMain reports its own failures and exits non-zero.
void runServiceMain({
  name: 'payment',
  configSchema: paymentConfigSchema,
  start: async (config) => {
    const runtime = await createPaymentService({ config });
    await runtime.start();
    return runtime;
  },
});
