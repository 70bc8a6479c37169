import { runServiceMain } from '@orderly/platform';
import { createNotificationService, notificationConfigSchema } from './app.js';

await runServiceMain({
  name: 'notification',
  configSchema: notificationConfigSchema,
  start: async (config) => {
    const runtime = await createNotificationService({ config });
    await runtime.start();
    return runtime;
  },
});
