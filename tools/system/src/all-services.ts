import {
  LiveConfig,
  createService,
  parseServiceConfig,
  type AnyServiceDefinition,
  type Bus,
  type ConfigDocument,
  type ConfigSource,
  type Flags,
  type Logger,
  type ServiceRuntime,
} from '@orderly/platform';
import { serviceNames, services, type ServiceName } from './registry.js';

const definitions: readonly AnyServiceDefinition[] = services;

/**
 * Builds every service of the system from one configuration document, all sharing `bus` (the
 * services that use one) and `flags`. With `source`, each service's configuration follows the
 * watched files (LiveConfig). Returned not started; when one fails, those built before it are stopped.
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
  const runtimes = new Map<ServiceName, ServiceRuntime>();
  try {
    for (const definition of definitions) {
      const name = definition.name as ServiceName;
      const config = shared.source
        ? LiveConfig.follow(shared.source, name, definition.configSchema)
        : parseServiceConfig(document, name, definition.configSchema);
      const log = shared.log?.(name);
      runtimes.set(
        name,
        await createService(definition, {
          config,
          bus: shared.bus,
          ...(shared.flags ? { flags: shared.flags } : {}),
          ...(log ? { log } : {}),
        }),
      );
    }
  } catch (error) {
    await stopAll(runtimes).catch(() => undefined);
    throw error;
  }
  return runtimes;
}

/** Throws (naming key, value and rule) unless the document is valid for the platform and every service. */
export function validateAllServices(document: ConfigDocument): void {
  for (const definition of definitions)
    parseServiceConfig(document, definition.name, definition.configSchema);
  // Rules across sections, once each section is valid on its own.
  for (const definition of definitions) definition.checkDocument?.(document);
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

/** Stops the gateway first (no new work), then the rest, in reverse start order. */
export async function stopAll(runtimes: Map<ServiceName, ServiceRuntime>): Promise<void> {
  for (const name of [...serviceNames].reverse()) await runtimes.get(name)?.stop();
}
