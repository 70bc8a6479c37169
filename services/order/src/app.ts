import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { ServiceRuntime, type Bus, type Logger, type ServiceConfig } from '@orderly/platform';
import type { OrderConfig } from './config.js';
import { orderDeps } from './data-access/order-store.js';
import { orderRpcRoutes } from './entry-points/order-rpc.js';
import {
  paymentResultHandlers,
  paymentResultsSubscription,
  stockResultHandlers,
  stockResultsSubscription,
} from './entry-points/saga-consumers.js';
import { sagaTimeoutSweeper } from './entry-points/saga-timeout-sweeper.js';

export { orderConfigSchema, type OrderConfig } from './config.js';

const migrationsPath = fileURLToPath(new URL('./data-access/migrations', import.meta.url));

export interface OrderServiceOptions {
  readonly config: ServiceConfig<OrderConfig>;
  readonly bus?: Bus;
  readonly log?: Logger;
  readonly clock?: () => Date;
}

/** Builds the order service (RPC, saga consumers, timeout sweeper); the caller starts and stops it. */
export async function createOrderService(options: OrderServiceOptions): Promise<ServiceRuntime> {
  const { platform, service } = options.config;
  const clock = options.clock ?? (() => new Date());
  const runtime = await ServiceRuntime.create({
    name: 'order',
    platform,
    http: { host: service.host, port: service.port },
    database: { name: service.database, migrationsPath },
    bus: options.bus,
    log: options.log,
  });
  const deps = orderDeps(runtime.db, runtime.outbox, clock, randomUUID);
  runtime.routes(orderRpcRoutes(deps, { defaultTimeoutMs: platform.rpc.defaultTimeoutMs, listLimitMax: service.listLimitMax }));
  const consumerDeps = { outbox: runtime.outbox, log: runtime.log, clock };
  runtime.consume(stockResultsSubscription, stockResultHandlers(consumerDeps));
  runtime.consume(paymentResultsSubscription, paymentResultHandlers(consumerDeps));
  runtime.every(
    'saga-timeout-sweeper',
    () => service.sagaSweepIntervalMs,
    sagaTimeoutSweeper(deps, runtime.log, () => ({ timeoutMs: service.sagaTimeoutMs, batchSize: service.sagaSweepBatchSize })),
  );
  return runtime;
}
