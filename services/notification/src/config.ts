import { z } from 'zod';
import { configValue, serviceEndpointsShape } from '@orderly/platform';

/** `services.notification` in the configuration (keys and defaults in config/default.yaml). */
export const notificationConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  /** operatorPort (/metrics, admin endpoints) and rpcCallers (who may call each RPC). */
  ...serviceEndpointsShape,
  database: z.string().min(1),
  /** File under `dataDir` the file sender appends customer messages to (JSON lines). */
  outputFile: z.string().min(1),
  /**
   * Optional: the versions of the order events to subscribe to, a subset of what package.json
   * declares (`orderly.consumes.order`, docs/contracts.md); absent, all declared. Read at start.
   */
  orderEvents: z.strictObject({ versions: z.array(z.enum(['v1', 'v2'])).min(1) }).optional(),
});

export type NotificationConfig = z.output<typeof notificationConfigSchema>;
