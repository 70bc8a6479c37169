import { defineConfig } from 'vitest/config';

/**
 * Tests that need the PostgreSQL and NATS JetStream named in config/default.yaml (or
 * ORDERLY_TEST_POSTGRES_URL / ORDERLY_TEST_NATS_URL). Every other test under platform/, services/,
 * tools/, bench/ and test/repo/ needs neither and is in the `unit` project;
 * test/repo/test-projects.test.ts keeps this list honest.
 */
export const needsPostgresOrNats = [
  'platform/test/batch-handlers.test.ts',
  'platform/test/bus-nats-dependency-outage.test.ts',
  'platform/test/bus-nats.test.ts',
  'platform/test/database-connection-loss.test.ts',
  'platform/test/database-deadline.test.ts',
  'platform/test/database-spans.test.ts',
  'platform/test/debug-endpoints.test.ts',
  'platform/test/ensure-database-race.test.ts',
  'platform/test/inbox-pruning.test.ts',
  'platform/test/outbox-inbox.test.ts',
  'platform/test/outbox-relay.test.ts',
  'platform/test/runtime-dependencies.test.ts',
  'platform/test/runtime-reload-and-faults.test.ts',
  'platform/test/shared-state-nats.test.ts',
  'services/gateway/test/rate-limits-across-replicas.test.ts',
  'services/identity/test/identity-rpc.test.ts',
  'services/identity/test/rpc-callers.test.ts',
  'services/identity/test/signing-keys.test.ts',
  'services/identity/test/signing-algorithms.test.ts',
  'services/inventory/test/batched-consumers.test.ts',
  'services/inventory/test/catalog-rpc.test.ts',
  'services/inventory/test/demo-catalog.test.ts',
  'services/inventory/test/reserve-stock.test.ts',
  'services/inventory/test/rpc-callers.test.ts',
  'services/inventory/test/settle-reservations.test.ts',
  'services/inventory/test/stale-reservations.test.ts',
  'services/notification/test/batched-messages.test.ts',
  'services/notification/test/customer-messages.test.ts',
  'services/notification/test/failing-sender.test.ts',
  'services/order/test/callers-and-operator-port.test.ts',
  'services/order/test/customer-cancel.test.ts',
  'services/order/test/intake-backpressure.test.ts',
  'services/order/test/live-config-and-faults.test.ts',
  'services/order/test/order-pages.test.ts',
  'services/order/test/order-service.test.ts',
  'services/order/test/place-orders.test.ts',
  'services/order/test/saga-batches.test.ts',
  'services/order/test/saga-timeout.test.ts',
  'services/order/test/sweep-before-consumers.test.ts',
  'services/payment/test/payment-batches.test.ts',
  'services/payment/test/payment-events.test.ts',
  'services/payment/test/payment-flags.test.ts',
  'tools/chaos/test/invariants.test.ts',
  'tools/chaos/test/reorder-drill.test.ts',
  'tools/cli/test/dead-letters-command.test.ts',
  'tools/cli/test/doctor-command.test.ts',
  'tools/cli/test/orders-command.test.ts',
  'bench/test/bench-smoke.test.ts',
  'test/leaks/service-restarts.test.ts',
  'services/order/test/risk-step.test.ts',
  'services/risk/src/plugins/plugin-status.test.ts',
  'services/risk/test/risk-service.test.ts',
  'services/risk/test/rpc-callers.test.ts',
  'test/risk/risk-review-routes.test.ts',
  'test/contracts/api-versions.test.ts',
  'test/contracts/order-event-versions.test.ts',
];
const e2e = ['test/e2e/**/*.test.ts'];
const deploy = ['test/deploy/**/*.test.ts'];
export const drill = [
  'tools/chaos/test/short-drill.test.ts',
  'tools/chaos/test/cluster-drill.test.ts',
  'tools/chaos/test/nats-cluster.test.ts',
  'tools/chaos/test/contract-rollout-drill.test.ts',
  'tools/chaos/test/risk-plugins-drill.test.ts',
];

// `vitest run` runs every project (`npm test`); `--project <name>` one of them (npm run test:<name>).
export default defineConfig({
  test: {
    exclude: ['**/node_modules/**', 'tools/guard/fixtures/**'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two cores: more parallel files only add contention on PostgreSQL.
    maxWorkers: 2,
    minWorkers: 1,
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: [
            'platform/**/*.test.ts',
            'services/**/*.test.ts',
            'tools/**/*.test.ts',
            'bench/**/*.test.ts',
            'test/repo/**/*.test.ts',
          ],
          exclude: [...needsPostgresOrNats, ...drill],
        },
      },
      { extends: true, test: { name: 'component', include: needsPostgresOrNats } },
      { extends: true, test: { name: 'e2e', include: e2e } },
      { extends: true, test: { name: 'deploy', include: deploy } },
      { extends: true, test: { name: 'drill', include: drill } },
    ],
  },
});
