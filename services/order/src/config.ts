import { z } from 'zod';
import { configValue } from '@orderly/platform';

/** `services.order` in the configuration files. */
export const orderConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  database: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and _'),
  /** A saga with no answer after this long is cancelled (TIMED_OUT) and compensated. */
  sagaTimeoutMs: configValue.positiveInt(),
  sagaSweepIntervalMs: configValue.positiveInt(),
  sagaSweepBatchSize: configValue.positiveInt(),
  listLimitMax: configValue.positiveInt(),
});

export type OrderConfig = z.output<typeof orderConfigSchema>;
