import type {
  Bus,
  ConfigDocument,
  ConfigSource,
  Flags,
  Logger,
  ServiceRuntime,
} from '@orderly/platform';
import { LiveConfig, parseServiceConfig } from '@orderly/platform';
import { createGatewayService, gatewayConfigSchema } from '@orderly/gateway';
import { createIdentityService, identityConfigSchema } from '@orderly/identity';
import {
  checkSagaTimeouts,
  createInventoryService,
  inventoryConfigSchema,
} from '@orderly/inventory';
import { createNotificationService, notificationConfigSchema } from '@orderly/notification';
import { createOrderService, orderConfigSchema } from '@orderly/order';
import { createPaymentService, paymentConfigSchema } from '@orderly/payment';

/** Every service, in the order they start (the gateway last, so it only accepts work once the rest runs). */
export const serviceNames = [
  'order',
  'inventory',
  'payment',
  'notification',
  'identity',
  'gateway',
] as const;
export type ServiceName = (typeof serviceNames)[number];

/**
 * Builds every service of the system from one configuration document, all sharing `bus` (and
 * `flags`). With `source`, each service's configuration follows the watched files (LiveConfig).
 */
export async function buildAllServices(
  document: ConfigDocument,
  shared: {
    bus: Bus;
    log?: (service: ServiceName) => Logger | undefined;
    source?: ConfigSource;
    flags?: Flags;
  },
): Promise<Map<ServiceName, ServiceRuntime>> {
  const log = (name: ServiceName) => shared.log?.(name);
  const source = shared.source;
  const flags = shared.flags;
  const config = <Schema extends Parameters<typeof parseServiceConfig>[2]>(
    name: ServiceName,
    schema: Schema,
  ) =>
    source ? LiveConfig.follow(source, name, schema) : parseServiceConfig(document, name, schema);
  const runtimes = new Map<ServiceName, ServiceRuntime>();
  runtimes.set(
    'order',
    await createOrderService({
      config: config('order', orderConfigSchema),
      bus: shared.bus,
      flags,
      log: log('order'),
    }),
  );
  runtimes.set(
    'inventory',
    await createInventoryService({
      config: config('inventory', inventoryConfigSchema),
      bus: shared.bus,
      flags,
      log: log('inventory'),
    }),
  );
  runtimes.set(
    'payment',
    await createPaymentService({
      config: config('payment', paymentConfigSchema),
      bus: shared.bus,
      flags,
      log: log('payment'),
    }),
  );
  runtimes.set(
    'notification',
    await createNotificationService({
      config: config('notification', notificationConfigSchema),
      bus: shared.bus,
      flags,
      log: log('notification'),
    }),
  );
  runtimes.set(
    'identity',
    await createIdentityService({
      config: config('identity', identityConfigSchema),
      flags,
      log: log('identity'),
    }),
  );
  runtimes.set(
    'gateway',
    await createGatewayService({
      config: config('gateway', gatewayConfigSchema),
      flags,
      log: log('gateway'),
    }),
  );
  return runtimes;
}

/** Throws (naming key, value and rule) unless the document is valid for the platform and every service. */
export function validateAllServices(document: ConfigDocument): void {
  parseServiceConfig(document, 'order', orderConfigSchema);
  parseServiceConfig(document, 'inventory', inventoryConfigSchema);
  parseServiceConfig(document, 'payment', paymentConfigSchema);
  parseServiceConfig(document, 'notification', notificationConfigSchema);
  parseServiceConfig(document, 'identity', identityConfigSchema);
  parseServiceConfig(document, 'gateway', gatewayConfigSchema);
  checkSagaTimeouts(document);
}

/**
 * Starts services so that no event can be missed: every consumer subscribes before any service
 * starts its outbox relay (the in-memory bus keeps nothing for absent subscribers).
 */
export async function startAll(
  runtimes: Map<ServiceName, ServiceRuntime>,
): Promise<Map<ServiceName, string>> {
  for (const runtime of runtimes.values()) await runtime.subscribe();
  const urls = new Map<ServiceName, string>();
  for (const [name, runtime] of runtimes) urls.set(name, (await runtime.start()).url);
  return urls;
}

/** Stops the gateway first (no new work), then the rest. */
export async function stopAll(runtimes: Map<ServiceName, ServiceRuntime>): Promise<void> {
  for (const name of [...serviceNames].reverse()) await runtimes.get(name)?.stop();
}
