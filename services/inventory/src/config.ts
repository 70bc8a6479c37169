import {
  ConfigError,
  configValue,
  parseConfigSection,
  reloadable,
  serviceEndpointsShape,
  type ConfigDocument,
} from '@orderly/platform';
import { z } from 'zod';
import { reservationTtlProblem } from './domain/reservation.js';

/** `services.inventory` in config/*.yaml; defaults live in config/default.yaml, not here. */
export const inventoryConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  /** operatorPort (/metrics, admin endpoints) and rpcCallers (who may call each RPC). */
  ...serviceEndpointsShape,
  database: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and _ only'),
  /**
   * A reservation still RESERVED this long after it was made (or last reported) is reported as
   * stale: a warning and the `inventory.reservations.stale` gauge. Its stock stays held: only the
   * order's saga releases it (OrderCancelled). Must be greater than services.order.sagaTimeoutMs +
   * services.order.sagaSweepIntervalMs (checked at start, see checkSagaTimeouts).
   */
  reservationTtlMs: reloadable(configValue.positiveInt()),
  /** How often stale reservations are looked for, and how many are reported per transaction. */
  expirySweepIntervalMs: reloadable(configValue.positiveInt()),
  expirySweepBatchSize: reloadable(configValue.positiveInt()),
  /** Inserts the demo catalog at start when the products table is empty. */
  seedDemoCatalog: configValue.boolean(),
  /** Largest page of ListProducts, and the page size when none is asked for. */
  listLimitMax: reloadable(configValue.positiveInt()),
  /**
   * Optional: the versions of the order events to subscribe to, a subset of what package.json
   * declares (`orderly.consumes.order`, docs/contracts.md); absent, all declared. Read at start.
   */
  orderEvents: z.strictObject({ versions: z.array(z.enum(['v1', 'v2'])).min(1) }).optional(),
});

export type InventoryConfig = z.output<typeof inventoryConfigSchema>;

const sagaTimeoutsSchema = z.object({
  services: z.object({
    order: z.object({
      sagaTimeoutMs: configValue.positiveInt(),
      sagaSweepIntervalMs: configValue.positiveInt(),
    }),
    inventory: z.object({ reservationTtlMs: configValue.positiveInt() }),
  }),
});

/**
 * The rule between inventory's and the order service's timeouts, checked on the whole document
 * (every service loads every `services.*` section) at start and at each reload: a reservation is
 * reported as stale only after its saga should have been cancelled by the order's sweeper.
 * Throws a ConfigError naming both keys and their values.
 */
export function checkSagaTimeouts(document: ConfigDocument): void {
  const { services } = parseConfigSection(sagaTimeoutsSchema, document.document);
  const problem = reservationTtlProblem({
    reservationTtlMs: services.inventory.reservationTtlMs,
    sagaTimeoutMs: services.order.sagaTimeoutMs,
    sagaSweepIntervalMs: services.order.sagaSweepIntervalMs,
  });
  if (problem === undefined) return;
  throw new ConfigError('invalid configuration', [
    `services.inventory.reservationTtlMs: value ${services.inventory.reservationTtlMs} is invalid: ${problem}`,
  ]);
}
