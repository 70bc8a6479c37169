import { runServiceMain } from '@orderly/platform';
import { createIdentityService, identityConfigSchema } from './app.js';

await runServiceMain({
  name: 'identity',
  configSchema: identityConfigSchema,
  start: async (config) => {
    const runtime = await createIdentityService({ config });
    await runtime.start();
    return runtime;
  },
});
