import type { Client } from '@connectrpc/connect';
import { InventoryService } from '@orderly/inventory/contract/inventory_service';
import { OrderService } from '@orderly/order/contract/order_service';
import {
  createRpcClient,
  ServiceRuntime,
  type Logger,
  type ServiceConfig,
} from '@orderly/platform';
import type { GatewayConfig } from './config.js';
import { buildHttpApp } from './entry-points/http-app.js';

export { gatewayConfigSchema, type GatewayConfig } from './config.js';

export interface GatewayServiceOptions {
  readonly config: ServiceConfig<GatewayConfig>;
  readonly log?: Logger;
  /** Injected by tests; otherwise Connect clients for the configured service URLs. */
  readonly orderClient?: Client<typeof OrderService>;
  readonly inventoryClient?: Client<typeof InventoryService>;
}

/**
 * The gateway: the public HTTP/JSON API in front of the order and inventory services. No database,
 * no bus. Returns the runtime NOT started; the caller does `await runtime.start()` / `runtime.stop()`.
 */
export async function createGatewayService(
  options: GatewayServiceOptions,
): Promise<ServiceRuntime> {
  const { platform, service } = options.config;
  const runtime = await ServiceRuntime.create({
    name: 'gateway',
    platform,
    http: { host: service.host, port: service.port },
    usesBus: false,
    ...(options.log ? { log: options.log } : {}),
  });
  const rpcOptions = { defaultTimeoutMs: service.requestTimeoutMs };
  const orderClient =
    options.orderClient ??
    createRpcClient(OrderService, { baseUrl: service.orderServiceUrl, ...rpcOptions });
  const inventoryClient =
    options.inventoryClient ??
    createRpcClient(InventoryService, { baseUrl: service.inventoryServiceUrl, ...rpcOptions });

  runtime.readiness('order', (signal) => upstreamHealthy(service.orderServiceUrl, 'order', signal));
  runtime.readiness('inventory', (signal) =>
    upstreamHealthy(service.inventoryServiceUrl, 'inventory', signal),
  );

  const app = await buildHttpApp({
    config: service,
    log: runtime.log,
    orderClient,
    inventoryClient,
  });
  runtime.serveHttp((req, res) => app.routing(req, res));
  return runtime;
}

async function upstreamHealthy(baseUrl: string, name: string, signal: AbortSignal): Promise<void> {
  const response = await fetch(new URL('/healthz', baseUrl), { signal });
  await response.body?.cancel();
  if (!response.ok) throw new Error(`${name} answered ${response.status}`);
}
