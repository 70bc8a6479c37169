import { z } from 'zod';
import {
  ConfigError,
  configValue,
  parseConfigSection,
  reloadable,
  serviceEndpointsShape,
  type ConfigDocument,
} from '@orderly/platform';

/** `services.risk` in the configuration (keys and defaults in config/default.yaml). */
export const riskConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  /** operatorPort (/metrics, admin endpoints) and rpcCallers (who may call each RPC). */
  ...serviceEndpointsShape,
  database: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and _ only'),
  plugins: z.strictObject({
    /** The folder the rule plugins (.wasm) load from; relative to the working directory. */
    dir: z.string().min(1),
    /** Time one order may take in the plugin before its worker is terminated (per order, not per batch). */
    callTimeoutMs: configValue.positiveInt(),
    /**
     * Further calls, each after the rest of the batch and never on the worker that failed, for an
     * order whose call timed out or whose worker crashed, before it is failed. At most 3: a plugin
     * that loops holds its order for (retries + 1) call limits.
     */
    retries: z.coerce.number().int().min(0).max(3),
    /** Largest memory a module may declare, in 64 KiB pages. */
    maxMemoryPages: configValue.positiveInt(),
    /** How often the folder is re-read besides watching it (0: only the watcher). */
    pollIntervalMs: z.coerce.number().int().min(0),
    /** Failed calls in a row that open the breaker, and how long it stays open. */
    breakerFailureThreshold: configValue.positiveInt(),
    breakerOpenMs: configValue.positiveInt(),
  }),
  /** Score (0..1000) at or above which an order is held for review, and rejected. */
  thresholds: z
    .strictObject({
      review: reloadable(z.coerce.number().int().min(0).max(1001)),
      reject: reloadable(z.coerce.number().int().min(0).max(1001)),
    })
    .refine((t) => t.review <= t.reject, 'thresholds.review must not be above thresholds.reject'),
  /** Customer ids every order of which the shipped rule set rejects (passed to the plugins). */
  denyList: z.array(z.string().min(1)),
  /** Named integer settings of the rule set (amounts in minor units), passed to the plugins. */
  rules: z.record(z.string().min(1), z.coerce.number().int()),
  /** The velocity window: a customer's orders and amount in this many seconds are features. */
  velocityWindowSeconds: configValue.positiveInt(),
  /**
   * A held order not decided this long after it was held gets the fail policy (marked). Its stock
   * stays reserved meanwhile: refused at start unless below services.inventory.reservationTtlMs
   * minus reviewSweepIntervalMs (checkReviewTimeout).
   */
  reviewTimeoutMs: reloadable(configValue.positiveInt()),
  reviewSweepIntervalMs: reloadable(configValue.positiveInt()),
  reviewSweepBatchSize: reloadable(configValue.positiveInt()),
  /** Largest page of ListReviews, and the page size when none is asked for. */
  listLimitMax: reloadable(configValue.positiveInt()),
});

export type RiskConfig = z.output<typeof riskConfigSchema>;

const reviewTimeoutSchema = z.object({
  services: z.object({
    risk: z.object({
      reviewTimeoutMs: configValue.positiveInt(),
      reviewSweepIntervalMs: configValue.positiveInt(),
    }),
    inventory: z.object({ reservationTtlMs: configValue.positiveInt() }),
  }),
});

/**
 * A held order keeps its reservation: the review must end (by an admin or the timeout) before
 * inventory reports the reservation as stale. Checked on the whole document at start and reload.
 */
export function checkReviewTimeout(document: ConfigDocument): void {
  const { services } = parseConfigSection(reviewTimeoutSchema, document.document);
  const { reviewTimeoutMs, reviewSweepIntervalMs } = services.risk;
  const ttl = services.inventory.reservationTtlMs;
  if (reviewTimeoutMs + reviewSweepIntervalMs < ttl) return;
  throw new ConfigError('invalid configuration', [
    `services.risk.reviewTimeoutMs: value ${reviewTimeoutMs} is invalid: with reviewSweepIntervalMs ` +
      `${reviewSweepIntervalMs} it must stay below services.inventory.reservationTtlMs (${ttl}), ` +
      'so a held order is decided before its reservation is reported as stale',
  ]);
}
