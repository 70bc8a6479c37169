import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';
import { defineService, type ServiceContext } from '@orderly/platform';
import { checkReviewTimeout, riskConfigSchema, type RiskConfig } from './config.js';
import { createRiskEngine, type RiskEngine } from './plugins/risk-engine.js';
import {
  assessmentRequestsHandlers,
  assessmentRequestsSubscription,
} from './entry-points/assessment-requests-consumer.js';
import { riskFlags } from './entry-points/risk-flags.js';
import { riskMetrics } from './entry-points/risk-metrics.js';
import { riskRpc } from './entry-points/risk-rpc.js';
import { reviewTimeoutTask, sweepDueReviews } from './entry-points/review-timeout-task.js';
import { riskSummary, riskTimeline } from './data-access/console-queries.js';

export { checkReviewTimeout, riskConfigSchema, type RiskConfig } from './config.js';
export { assessmentRequestsSubscription, reviewTimeoutTask };
export { riskFlagKeys } from './entry-points/risk-flags.js';

/** What a test may put in place of the risk service's own adapters. */
export interface RiskAdapters {
  /** The plugin engine; by default the WebAssembly engine over services.risk.plugins.dir. */
  readonly engine: RiskEngine;
}

/**
 * The risk service: assesses each reserved order before payment (RiskAssessmentRequested →
 * RiskAssessed), with rules that run as sandboxed WebAssembly plugins, a fail policy when none can
 * score, and a review queue (RiskService) that an admin or the review timeout empties.
 */
export const riskService = defineService({
  name: 'risk',
  configSchema: riskConfigSchema,
  database: { migrationsPath: fileURLToPath(new URL('./data-access/migrations', import.meta.url)) },
  checkDocument: checkReviewTimeout,
  async wire(runtime, { live, clock, adapters }: ServiceContext<RiskConfig, RiskAdapters>) {
    const config = live.service;
    const flags = riskFlags(runtime.flags);
    await flags.refresh();
    const engine =
      adapters.engine ??
      (await createRiskEngine({
        pluginsDir: resolve(config.plugins.dir),
        limits: {
          callTimeoutMs: config.plugins.callTimeoutMs,
          maxMemoryPages: config.plugins.maxMemoryPages,
        },
        retries: config.plugins.retries,
        settings: { denyList: config.denyList, thresholds: config.rules },
        rollout: () => flags.rollout(),
        breaker: {
          failureThreshold: config.plugins.breakerFailureThreshold,
          openMs: config.plugins.breakerOpenMs,
        },
        pollIntervalMs: config.plugins.pollIntervalMs,
        log: runtime.log,
        telemetry: runtime.telemetry,
      }));
    runtime.closeOnStop(() => engine.close());
    // The plugin versions (active, candidate, refused and why), their hashes, breakers and rollout.
    runtime.operatorGet('/admin/risk/plugins', () => Promise.resolve(engine.status()));
    const metrics = riskMetrics(runtime.telemetry);
    const failPolicy = async () => {
      await flags.refresh();
      return flags.failPolicy();
    };
    runtime.timeline((orderId, signal) => riskTimeline(runtime.db, orderId, signal));
    runtime.summary((signal) => riskSummary(runtime.db, signal));
    runtime.routes(
      riskRpc({
        db: runtime.db,
        outbox: runtime.outbox,
        log: runtime.log,
        metrics,
        clock,
        defaultTimeoutMs: () => live.platform.rpc.defaultTimeoutMs,
        listLimitMax: () => live.service.listLimitMax,
      }),
    );
    // Batched: one engine call (one worker round trip) and one statement per table per batch.
    runtime.consume(
      assessmentRequestsSubscription,
      assessmentRequestsHandlers({
        outbox: runtime.outbox,
        log: runtime.log,
        telemetry: runtime.telemetry,
        metrics,
        engine,
        clock,
        thresholds: () => live.service.thresholds,
        failPolicy,
        windowSeconds: () => live.service.velocityWindowSeconds,
        reviewTimeoutMs: () => live.service.reviewTimeoutMs,
      }),
      { batched: true },
    );
    runtime.every(
      reviewTimeoutTask,
      () => live.service.reviewSweepIntervalMs,
      async () => {
        await sweepDueReviews({
          db: runtime.db,
          outbox: runtime.outbox,
          log: runtime.log,
          metrics,
          clock,
          failPolicy,
          batchSize: () => live.service.reviewSweepBatchSize,
        });
      },
    );
  },
});
