import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { defineService } from '@orderly/platform';
import { orderConfigSchema } from './config.js';
import { orderDeps } from './data-access/order-store.js';
import { orderSummary, orderTimeline } from './data-access/console-queries.js';
import { orderMetrics } from './entry-points/order-metrics.js';
import { PublishedVersions, versionedOutbox } from './entry-points/order-event-versions.js';
import { orderRpcRoutes } from './entry-points/order-rpc.js';
import { SagaBacklogMonitor } from './entry-points/saga-backlog.js';
import {
  paymentResultHandlers,
  paymentResultsSubscription,
  riskResultHandlers,
  riskResultsSubscription,
  stockResultHandlers,
  stockResultsSubscription,
} from './entry-points/saga-consumers.js';
import { sagaTimeoutSweeper } from './entry-points/saga-timeout-sweeper.js';

export { orderConfigSchema, type OrderConfig } from './config.js';

/** The order service: the order RPCs, the saga consumers, and the saga timeout sweeper. */
export const orderService = defineService({
  name: 'order',
  configSchema: orderConfigSchema,
  database: { migrationsPath: fileURLToPath(new URL('./data-access/migrations', import.meta.url)) },
  async wire(runtime, { live, clock }) {
    // The order events go out in the versions the flag order-events-publish names (v1 as shipped).
    const published = new PublishedVersions(runtime.flags, runtime.log);
    await published.refresh();
    runtime.closeOnStop(() => Promise.resolve(published.close()));
    const outbox = versionedOutbox(runtime.outbox, () => published.current);
    // Reloadable keys are read from `live` when they are used, never copied at build time.
    const deps = orderDeps(runtime.db, outbox, clock, randomUUID, () => ({
      maxBatch: live.service.groupCommitMaxBatch,
      maxInFlight: live.service.groupCommitMaxInFlight,
    }));
    const metrics = orderMetrics(runtime.telemetry);
    // Measured on a timer, not per request: PlaceOrder pays a variable read, not a query.
    const backlog = new SagaBacklogMonitor(runtime.db, () => live.service.idleBacklogRecheckMs);
    runtime.every(
      'saga-backlog',
      () => live.service.openSagaCountIntervalMs,
      () => backlog.count(),
    );
    runtime.timeline((orderId, signal) => orderTimeline(runtime.db, orderId, signal));
    runtime.summary(async (signal) => ({
      ...(await orderSummary(runtime.db, live.service.consoleSummaryWindowMs, signal)),
      openSagas: backlog.current.open,
    }));
    runtime.routes(
      orderRpcRoutes(deps, {
        log: runtime.log,
        get defaultTimeoutMs() {
          return live.platform.rpc.defaultTimeoutMs;
        },
        get listLimitMax() {
          return live.service.listLimitMax;
        },
        get customerCancelWindowMs() {
          return live.service.customerCancelWindowMs;
        },
        metrics: {
          placed: (order) => {
            backlog.placed();
            metrics.placed(order);
          },
          finished: metrics.finished,
        },
        intake: {
          backlog: () => backlog.current,
          maxOpenSagas: () => live.service.maxOpenSagas,
          maxOpenSagaAgeMs: () => live.service.maxOpenSagaAgeMs,
        },
      }),
    );
    const consumerDeps = {
      outbox,
      log: runtime.log,
      clock,
      riskAssessment: () => live.service.riskAssessment,
      onFinished: metrics.finished,
    };
    // Batched: each handler locks only its own order row.
    runtime.consume(stockResultsSubscription, stockResultHandlers(consumerDeps), { batched: true });
    runtime.consume(riskResultsSubscription, riskResultHandlers(consumerDeps), { batched: true });
    runtime.consume(paymentResultsSubscription, paymentResultHandlers(consumerDeps), {
      batched: true,
    });
    const sweep = sagaTimeoutSweeper(
      deps,
      runtime.log,
      () => ({
        timeoutMs: live.service.sagaTimeoutMs,
        batchSize: live.service.sagaSweepBatchSize,
      }),
      metrics.timedOut,
    );
    runtime.every(
      'saga-timeout-sweeper',
      () => live.service.sagaSweepIntervalMs,
      // No transaction while no open saga can have timed out yet (an idle or healthy system).
      async () => {
        if (backlog.mayHaveTimedOut(live.service.sagaTimeoutMs)) await sweep();
      },
      // Once before the consumers too: after a long outage, sagas past their timeout are cancelled
      // before the answers that waited in the stream are applied.
      { runBeforeConsumers: true },
    );
  },
});
