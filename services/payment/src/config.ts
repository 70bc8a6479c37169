import { z } from 'zod';
import { configValue } from '@orderly/platform';

/** `services.payment` in the configuration (keys and defaults in config/default.yaml). */
export const paymentConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  database: z.string().min(1),
});

export type PaymentConfig = z.output<typeof paymentConfigSchema>;
