import { z } from 'zod';
import { configValue, reloadable, serviceEndpointsShape } from '@orderly/platform';

/** `services.payment` in the configuration (keys and defaults in config/default.yaml). */
export const paymentConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  /** operatorPort (/metrics, admin endpoints) and rpcCallers (who may call each RPC). */
  ...serviceEndpointsShape,
  database: z.string().min(1),
  /** Provider calls of one batch of payment requests (or refunds) in flight at once. */
  providerConcurrency: reloadable(configValue.positiveInt()),
  /** The second simulated provider (flag `payment-provider-v2`). */
  providerV2: z.strictObject({
    /** It declines charges above this amount (AMOUNT_OVER_LIMIT). */
    declineAboveCents: reloadable(configValue.positiveInt()),
  }),
  /**
   * Optional: the versions of the order events to subscribe to, a subset of what package.json
   * declares (`orderly.consumes.order`, docs/contracts.md); absent, all declared. Read at start.
   */
  orderEvents: z.strictObject({ versions: z.array(z.enum(['v1', 'v2'])).min(1) }).optional(),
});

export type PaymentConfig = z.output<typeof paymentConfigSchema>;
