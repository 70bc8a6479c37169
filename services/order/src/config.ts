import { z } from 'zod';
import { configValue, reloadable, serviceEndpointsShape } from '@orderly/platform';

/** `services.order` in the configuration files; `reloadable(...)` keys follow the file while running. */
export const orderConfigSchema = z.strictObject({
  host: z.string().min(1),
  port: configValue.port(),
  /** operatorPort (/metrics, admin endpoints) and rpcCallers (who may call each RPC). */
  ...serviceEndpointsShape,
  database: z.string().regex(/^[a-z_][a-z0-9_]*$/, 'lower-case letters, digits and _'),
  /**
   * The risk step: a reserved order is assessed by the risk service (RiskAssessmentRequested →
   * RiskAssessed) before its payment is requested. Off: payment is requested at once (the bench
   * compares both). Read at each StockReserved.
   */
  riskAssessment: reloadable(configValue.boolean()),
  /** A saga with no answer after this long is cancelled (TIMED_OUT) and compensated. */
  sagaTimeoutMs: reloadable(configValue.positiveInt()),
  sagaSweepIntervalMs: reloadable(configValue.positiveInt()),
  sagaSweepBatchSize: reloadable(configValue.positiveInt()),
  /** Largest page of ListOrders and SearchOrders, and the page size when none is asked for. */
  listLimitMax: reloadable(configValue.positiveInt()),
  /**
   * A customer may cancel a confirmed order (refund, units back) for this long after its
   * confirmation; later CancelOrder answers ORDER_NOT_CANCELLABLE. Open orders can always be cancelled.
   */
  customerCancelWindowMs: reloadable(configValue.positiveInt()),
  /** Most new orders that share one transaction (group commit). */
  groupCommitMaxBatch: reloadable(configValue.positiveInt()),
  /** Group-commit transactions running at once; keep below the database pool size. */
  groupCommitMaxInFlight: reloadable(configValue.positiveInt()),
  /**
   * Backpressure: while this many sagas are still open, new orders are refused with 503 (the
   * client retries with its idempotency key), so intake never outruns fulfilment into timeouts.
   */
  maxOpenSagas: reloadable(configValue.positiveInt()),
  /**
   * Backpressure by age: while the oldest open saga is older than this, new orders are refused too.
   * Self-tuning where a count is not: it bounds how long an accepted order waits, whatever the
   * machine's throughput, and keeps sagas well clear of sagaTimeoutMs.
   */
  maxOpenSagaAgeMs: reloadable(configValue.positiveInt()),
  /** How often the number of open sagas is counted. */
  openSagaCountIntervalMs: reloadable(configValue.positiveInt()),
  /** While no saga is open and none was placed here, the count runs only this often (other replicas' orders). */
  idleBacklogRecheckMs: reloadable(configValue.positiveInt()),
  /** The operator console's order mix counts the orders placed this long ago at most. */
  consoleSummaryWindowMs: reloadable(configValue.positiveInt()),
});

export type OrderConfig = z.output<typeof orderConfigSchema>;
