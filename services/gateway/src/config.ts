import { z } from 'zod';
import { configValue } from '@orderly/platform';

/** `services.gateway` in config/default.yaml: every address, budget and limit of the public API. */
export const gatewayConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  orderServiceUrl: configValue.url(),
  inventoryServiceUrl: configValue.url(),
  /** Whole-request budget; the time left travels to the services as their deadline. */
  requestTimeoutMs: configValue.positiveInt(),
  bodyLimitBytes: configValue.positiveInt(),
  maxLinesPerOrder: configValue.positiveInt(),
  maxQuantityPerLine: configValue.positiveInt(),
  idempotencyKeyMaxLength: configValue.positiveInt(),
  /** Largest `?limit=` of GET /v1/orders, and the page size when it is absent. */
  listLimitMax: configValue.positiveInt(),
});

export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
