import { fileURLToPath } from 'node:url';
import { consumedEventVersions, defineService, handlersForVersions } from '@orderly/platform';
import packageJson from '../package.json' with { type: 'json' };
import { checkSagaTimeouts, inventoryConfigSchema } from './config.js';
import { reservationTimeline } from './data-access/console-queries.js';
import { seedDemoCatalogAtStart } from './entry-points/demo-catalog-seeding.js';
import { inventoryRpc } from './entry-points/inventory-rpc.js';
import {
  reportStaleReservations,
  staleReservationMetrics,
  staleReservationsTask,
} from './entry-points/stale-reservations-task.js';
import {
  reserveStockHandlers,
  reserveStockSubscription,
} from './entry-points/reserve-stock-consumer.js';
import {
  settleReservationsHandlers,
  settleReservationsSubscription,
} from './entry-points/settle-reservations-consumer.js';

export { checkSagaTimeouts, inventoryConfigSchema, type InventoryConfig } from './config.js';
export { reserveStockSubscription, settleReservationsSubscription };

/**
 * The inventory service: the catalog RPCs, the reserve-stock and settle-reservations consumers, and
 * the stale-reservation report. Its database is seeded with the demo catalog when configured.
 */
export const inventoryService = defineService({
  name: 'inventory',
  configSchema: inventoryConfigSchema,
  database: { migrationsPath: fileURLToPath(new URL('./data-access/migrations', import.meta.url)) },
  checkDocument: checkSagaTimeouts,
  async wire(runtime, { live, clock }) {
    // A LiveConfig makes the reloadable keys follow the file: they are read from `live` when used.
    if (live.service.seedDemoCatalog)
      await seedDemoCatalogAtStart({ db: runtime.db, log: runtime.log, clock });
    runtime.timeline((orderId, signal) => reservationTimeline(runtime.db, orderId, signal));
    runtime.routes(
      inventoryRpc({
        db: runtime.db,
        log: runtime.log,
        clock,
        get defaultTimeoutMs() {
          return live.platform.rpc.defaultTimeoutMs;
        },
        get listLimitMax() {
          return live.service.listLimitMax;
        },
      }),
    );
    // Batched: deliveries that arrive together are one transaction and one run of set-based SQL.
    // Two batches cannot deadlock: every run locks in one global order ("lock order" in
    // data-access/reservation-repository.ts).
    // Each subscription holds every version of its events it reads (applied once, see
    // docs/contracts.md); which versions: package.json's declaration, narrowed by configuration.
    const versions = consumedEventVersions(
      { service: 'inventory', producer: 'order', declared: packageJson.orderly.consumes.order },
      live.service.orderEvents?.versions,
    );
    runtime.consume(
      reserveStockSubscription,
      handlersForVersions(
        reserveStockHandlers({
          outbox: runtime.outbox,
          log: runtime.log,
          clock,
          get reservationTtlMs() {
            return live.service.reservationTtlMs;
          },
        }),
        versions,
      ),
      { batched: true },
    );
    runtime.consume(
      settleReservationsSubscription,
      handlersForVersions(settleReservationsHandlers({ log: runtime.log, clock }), versions),
      { batched: true },
    );
    const staleMetrics = staleReservationMetrics(runtime.telemetry);
    runtime.every(
      staleReservationsTask,
      () => live.service.expirySweepIntervalMs,
      async () => {
        await reportStaleReservations(
          {
            db: runtime.db,
            log: runtime.log,
            clock,
            reservationTtlMs: live.service.reservationTtlMs,
            batchSize: live.service.expirySweepBatchSize,
          },
          staleMetrics,
        );
      },
    );
  },
});
