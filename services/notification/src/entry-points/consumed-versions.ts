import { ConfigError, type EventHandler } from '@orderly/platform';
import packageJson from '../../package.json' with { type: 'json' };

/**
 * The versions of the order events this service reads: what its package.json declares
 * (`orderly.consumes.order`, the one place the contract gate reads, docs/contracts.md), narrowed by
 * `services.notification.orderEvents.versions` when set (a migration drill moves consumers one by one
 * without a code change). A version the code does not declare is refused at start.
 */
export const declaredOrderEventVersions: readonly string[] = packageJson.orderly.consumes.order;

export function orderEventVersions(configured: readonly string[] | undefined): readonly string[] {
  if (!configured) return declaredOrderEventVersions;
  const undeclared = configured.filter((v) => !declaredOrderEventVersions.includes(v));
  if (undeclared.length > 0)
    throw new ConfigError('invalid configuration', [
      `services.notification.orderEvents.versions: ${undeclared.join(', ')} not declared in services/notification/package.json (orderly.consumes.order: ${declaredOrderEventVersions.join(', ')})`,
    ]);
  return configured;
}

/** The handlers of the order events in these versions (others are not subscribed to). */
export function readingVersions(
  handlers: readonly EventHandler[],
  versions: readonly string[],
): EventHandler[] {
  return handlers.filter(
    (handler) =>
      !handler.schema.typeName.startsWith('order.') ||
      versions.some((version) => handler.schema.typeName.startsWith(`order.${version}.`)),
  );
}
