import { runServiceMain } from '@orderly/platform';
import { createNotificationService, notificationConfigSchema } from './app.js';

// Not awaited: the bundle for single-file binaries is CommonJS, which has no top-level await;
// runServiceMain reports its own failures and exits non-zero.
void runServiceMain({
  name: 'notification',
  configSchema: notificationConfigSchema,
  start: async (config) => {
    const runtime = await createNotificationService({ config });
    await runtime.start();
    return runtime;
  },
});
