import { runServiceMain } from '@orderly/platform';
import { createIdentityService, identityConfigSchema } from './app.js';

// Not awaited: the bundle for single-file binaries is CommonJS, which has no top-level await;
// runServiceMain reports its own failures and exits non-zero.
void runServiceMain({
  name: 'identity',
  configSchema: identityConfigSchema,
  start: async (config) => {
    const runtime = await createIdentityService({ config });
    await runtime.start();
    return runtime;
  },
});
