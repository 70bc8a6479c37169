import { runServiceMain } from '@orderly/platform';
import { createPaymentService, paymentConfigSchema } from './app.js';

await runServiceMain({
  name: 'payment',
  configSchema: paymentConfigSchema,
  start: async (config) => {
    const runtime = await createPaymentService({ config });
    await runtime.start();
    return runtime;
  },
});
