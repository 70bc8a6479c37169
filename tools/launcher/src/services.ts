import type { Bus, ConfigDocument, Logger, ServiceRuntime } from '@orderly/platform';
import { parseServiceConfig } from '@orderly/platform';
import { createGatewayService, gatewayConfigSchema } from '@orderly/gateway';
import { createInventoryService, inventoryConfigSchema } from '@orderly/inventory';
import { createNotificationService, notificationConfigSchema } from '@orderly/notification';
import { createOrderService, orderConfigSchema } from '@orderly/order';
import { createPaymentService, paymentConfigSchema } from '@orderly/payment';

/** Every service, in the order they start (the gateway last, so it only accepts work once the rest runs). */
export const serviceNames = ['order', 'inventory', 'payment', 'notification', 'gateway'] as const;
export type ServiceName = (typeof serviceNames)[number];

/** Builds every service of the system from one configuration document, all sharing `bus`. */
export async function buildAllServices(
  document: ConfigDocument,
  shared: { bus: Bus; log?: (service: ServiceName) => Logger | undefined },
): Promise<Map<ServiceName, ServiceRuntime>> {
  const log = (name: ServiceName) => shared.log?.(name);
  const runtimes = new Map<ServiceName, ServiceRuntime>();
  runtimes.set('order', await createOrderService({ config: parseServiceConfig(document, 'order', orderConfigSchema), bus: shared.bus, log: log('order') }));
  runtimes.set(
    'inventory',
    await createInventoryService({ config: parseServiceConfig(document, 'inventory', inventoryConfigSchema), bus: shared.bus, log: log('inventory') }),
  );
  runtimes.set(
    'payment',
    await createPaymentService({ config: parseServiceConfig(document, 'payment', paymentConfigSchema), bus: shared.bus, log: log('payment') }),
  );
  runtimes.set(
    'notification',
    await createNotificationService({
      config: parseServiceConfig(document, 'notification', notificationConfigSchema),
      bus: shared.bus,
      log: log('notification'),
    }),
  );
  runtimes.set('gateway', await createGatewayService({ config: parseServiceConfig(document, 'gateway', gatewayConfigSchema), log: log('gateway') }));
  return runtimes;
}

/**
 * Starts services so that no event can be missed: every consumer subscribes before any service
 * starts its outbox relay (the in-memory bus keeps nothing for absent subscribers).
 */
export async function startAll(runtimes: Map<ServiceName, ServiceRuntime>): Promise<Map<ServiceName, string>> {
  for (const runtime of runtimes.values()) await runtime.subscribe();
  const urls = new Map<ServiceName, string>();
  for (const [name, runtime] of runtimes) urls.set(name, (await runtime.start()).url);
  return urls;
}

/** Stops the gateway first (no new work), then the rest. */
export async function stopAll(runtimes: Map<ServiceName, ServiceRuntime>): Promise<void> {
  for (const name of [...serviceNames].reverse()) await runtimes.get(name)?.stop();
}
