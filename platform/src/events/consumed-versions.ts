import { ConfigError } from '../config/index.js';
import type { EventHandler } from '../inbox/index.js';

/** Where a consumer declares the versions of a producer's events it reads. */
export interface ConsumedVersionsDeclaration {
  /** The consuming service (`inventory`): names its configuration key and package in errors. */
  readonly service: string;
  /** The producer whose events are read (`order`): the proto package prefix `order.v1.`. */
  readonly producer: string;
  /** What the service's package.json declares (`orderly.consumes.<producer>`), the one place the contract gate reads. */
  readonly declared: readonly string[];
}

/**
 * The versions a consumer reads now: its declaration, narrowed by
 * `services.<service>.<producer>Events.versions` when set (a migration moves consumers one by one
 * without a code change). A configured version the package does not declare is refused at start,
 * so configuration can never make a service read what the contract gate believes it does not.
 */
export function consumedEventVersions(
  declaration: ConsumedVersionsDeclaration,
  configured: readonly string[] | undefined,
): ConsumedVersions {
  const { producer } = declaration;
  if (!configured) return { producer, versions: declaration.declared };
  const undeclared = configured.filter((v) => !declaration.declared.includes(v));
  if (undeclared.length > 0) {
    const { service, declared } = declaration;
    throw new ConfigError('invalid configuration', [
      `services.${service}.${producer}Events.versions: ${undeclared.join(', ')} not declared in services/${service}/package.json (orderly.consumes.${producer}: ${declared.join(', ')})`,
    ]);
  }
  return { producer, versions: configured };
}

/** The versions of one producer's events a consumer reads now. */
export interface ConsumedVersions {
  readonly producer: string;
  readonly versions: readonly string[];
}

/** The handlers to subscribe: every other producer's, and the producer's only in the versions read. */
export function handlersForVersions(
  handlers: readonly EventHandler[],
  { producer, versions }: ConsumedVersions,
): EventHandler[] {
  return handlers.filter(
    (handler) =>
      !handler.schema.typeName.startsWith(`${producer}.`) ||
      versions.some((version) => handler.schema.typeName.startsWith(`${producer}.${version}.`)),
  );
}
