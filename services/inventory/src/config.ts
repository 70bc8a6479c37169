import { configValue, reloadable, serviceEndpointsShape } from '@orderly/platform';
import { z } from 'zod';

/** `services.inventory` in config/*.yaml; defaults live in config/default.yaml, not here. */
export const inventoryConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  /** operatorPort (/metrics, admin endpoints) and rpcCallers (who may call each RPC). */
  ...serviceEndpointsShape,
  database: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and _ only'),
  /** How long a reservation holds stock; must stay well above services.order.sagaTimeoutMs. */
  reservationTtlMs: reloadable(configValue.positiveInt()),
  expirySweepIntervalMs: reloadable(configValue.positiveInt()),
  expirySweepBatchSize: reloadable(configValue.positiveInt()),
  /** Inserts the demo catalog at start when the products table is empty. */
  seedDemoCatalog: configValue.boolean(),
});

export type InventoryConfig = z.output<typeof inventoryConfigSchema>;
