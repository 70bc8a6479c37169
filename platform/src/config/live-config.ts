import type { z } from 'zod';
import type { ConfigSource, ConfigUpdate } from './config-source.js';
import {
  parseServiceConfig,
  platformConfigSchema,
  type PlatformConfig,
  type ServiceConfig,
} from './platform-config.js';
import {
  canonicalJson,
  changedPaths,
  contentHash,
  isReloadable,
  reloadablePaths,
  valueAtPath,
  withValueAtPath,
} from './reloadable.js';

/**
 * A service's configuration while it runs. It reads like a `ServiceConfig` (`platform`, `service`),
 * but its values follow the configuration file: when the file changes, the keys marked
 * `reloadable(...)` in the schemas take their new values; code that reads them at use time
 * (`live.service.sagaTimeoutMs` inside the closure, not copied at build) follows without a restart.
 *
 * - An invalid new document is rejected whole: every value stays as it was and the errors are kept
 *   (`status().reloadError`) until a valid document arrives.
 * - A changed key that is not reloadable (port, database, URLs, pool sizes…) is not applied, not even
 *   partly: it keeps its start value and is listed in `status().restartRequired` until the file holds
 *   the start value again or the process restarts.
 * - Every applied change is announced once to the listeners with the new hash and the changed keys.
 */
export interface LiveConfigStatus {
  /** Hash of the configuration in effect (platform keys plus this service's section). */
  readonly hash: string;
  /** Hash of the watched files as last read (empty for a fixed configuration). */
  readonly filesHash: string;
  readonly reloadError: string | undefined;
  readonly restartRequired: readonly string[];
}

export type ConfigEvent =
  | {
      readonly kind: 'applied';
      readonly hash: string;
      readonly filesHash: string;
      readonly changed: readonly string[];
      readonly restartRequired: readonly string[];
    }
  | {
      readonly kind: 'restart-required';
      readonly hash: string;
      readonly filesHash: string;
      readonly keys: readonly string[];
    }
  | { readonly kind: 'rejected'; readonly filesHash: string; readonly error: Error };

interface Effective<Own> {
  readonly platform: PlatformConfig;
  readonly service: Own;
}

export class LiveConfig<Own> implements ServiceConfig<Own> {
  private effective: Effective<Own>;
  private readonly boot: Effective<Own>;
  private currentHash: string;
  private filesHash: string;
  private reloadError: string | undefined;
  private restartRequired: readonly string[] = [];
  /** The fixed keys' wanted values, so a second different value for the same key is reported again. */
  private pendingSignature = '[]';
  private readonly listeners = new Set<(event: ConfigEvent) => void>();
  private unsubscribe: (() => void) | undefined;
  private readonly reloadableKeys: readonly string[];

  private constructor(
    readonly serviceName: string,
    private readonly schema: z.ZodType | undefined,
    initial: ServiceConfig<Own>,
    filesHash: string,
  ) {
    this.effective = { platform: initial.platform, service: initial.service };
    this.boot = this.effective;
    this.currentHash = hashOf(this.effective);
    this.filesHash = filesHash;
    this.reloadableKeys = [
      ...reloadablePaths(platformConfigSchema),
      ...(schema ? reloadablePaths(schema, ['services', serviceName]) : []),
    ];
  }

  /** A configuration that never changes (tests, tools); `ServiceConfig` values become this. */
  static fixed<Own>(config: ServiceConfig<Own>, serviceName = 'service'): LiveConfig<Own> {
    return new LiveConfig<Own>(serviceName, undefined, config, '');
  }

  /** Follows `source`: every valid document it loads is applied as described above. */
  static follow<Schema extends z.ZodType>(
    source: ConfigSource,
    serviceName: string,
    schema: Schema,
  ): LiveConfig<z.output<Schema>> {
    const live = new LiveConfig<z.output<Schema>>(
      serviceName,
      schema,
      parseServiceConfig(source.document, serviceName, schema),
      source.filesHash,
    );
    live.unsubscribe = source.subscribe((update) => live.apply(update));
    return live;
  }

  get platform(): PlatformConfig {
    return this.effective.platform;
  }

  get service(): Own {
    return this.effective.service;
  }

  get hash(): string {
    return this.currentHash;
  }

  /** The dotted keys (`logLevel`, `services.order.sagaTimeoutMs`, …) this configuration re-applies. */
  get reloadable(): readonly string[] {
    return this.reloadableKeys;
  }

  status(): LiveConfigStatus {
    return {
      hash: this.currentHash,
      filesHash: this.filesHash,
      reloadError: this.reloadError,
      restartRequired: this.restartRequired,
    };
  }

  onEvent(listener: (event: ConfigEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Calls `listener` with the changed keys after each applied change. */
  onChange(listener: (changed: readonly string[]) => void): () => void {
    return this.onEvent((event) => {
      if (event.kind === 'applied') listener(event.changed);
    });
  }

  private apply(update: ConfigUpdate): void {
    this.filesHash = update.filesHash;
    if (!update.ok) {
      this.reloadError = update.error.message;
      this.emit({ kind: 'rejected', filesHash: update.filesHash, error: update.error });
      return;
    }
    let next: ServiceConfig<Own>;
    try {
      next = parseServiceConfig(
        update.document,
        this.serviceName,
        this.schema as z.ZodType,
      ) as ServiceConfig<Own>;
    } catch (error) {
      const err = error instanceof Error ? error : new Error(String(error));
      this.reloadError = err.message;
      this.emit({ kind: 'rejected', filesHash: update.filesHash, error: err });
      return;
    }
    this.reloadError = undefined;
    const bootTree = treeOf(this.boot, this.serviceName);
    let nextTree = treeOf(next, this.serviceName);
    // Keys that cannot change while running keep their start values; the difference is reported.
    const restartRequired = changedPaths(bootTree, nextTree).filter(
      (path) => !isReloadable(path, this.reloadableKeys),
    );
    const signature = canonicalJson(
      restartRequired.map((path) => [path, valueAtPath(nextTree, path)]),
    );
    for (const path of restartRequired)
      nextTree = withValueAtPath(nextTree, path, valueAtPath(bootTree, path));
    const changed = changedPaths(treeOf(this.effective, this.serviceName), nextTree);
    const restartChanged = signature !== this.pendingSignature;
    this.pendingSignature = signature;
    this.restartRequired = restartRequired;
    if (changed.length > 0) {
      this.effective = effectiveOf(nextTree, this.serviceName, this.effective.platform.services);
      this.currentHash = hashOf(this.effective);
      this.emit({
        kind: 'applied',
        hash: this.currentHash,
        filesHash: this.filesHash,
        changed,
        restartRequired,
      });
    } else if (restartChanged && restartRequired.length > 0) {
      this.emit({
        kind: 'restart-required',
        hash: this.currentHash,
        filesHash: this.filesHash,
        keys: restartRequired,
      });
    }
  }

  private emit(event: ConfigEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.listeners.clear();
  }
}

/** A `LiveConfig` as is, or a fixed one made from a plain `ServiceConfig`. */
export function liveConfigOf<Own>(
  config: ServiceConfig<Own>,
  serviceName?: string,
): LiveConfig<Own> {
  return config instanceof LiveConfig
    ? (config as LiveConfig<Own>)
    : LiveConfig.fixed(config, serviceName);
}

/**
 * The platform keys (without other services' sections) and this service's section as one tree,
 * keyed like the files: `logLevel`, `services.<name>.<key>`.
 */
function treeOf<Own>(config: Effective<Own>, serviceName: string): Record<string, unknown> {
  return { ...withoutServices(config.platform), services: { [serviceName]: config.service } };
}

/** The platform keys without the raw `services` sections (each service validates only its own). */
function withoutServices(platform: PlatformConfig): Omit<PlatformConfig, 'services'> {
  const copy: Partial<PlatformConfig> = { ...platform };
  delete copy.services;
  return copy as Omit<PlatformConfig, 'services'>;
}

function effectiveOf<Own>(
  tree: Record<string, unknown>,
  serviceName: string,
  services: PlatformConfig['services'],
): Effective<Own> {
  const { services: own, ...platform } = tree as { services: Record<string, unknown> } & Record<
    string,
    unknown
  >;
  return Object.freeze({
    platform: Object.freeze({ ...(platform as Omit<PlatformConfig, 'services'>), services }),
    service: Object.freeze(own[serviceName] as Own),
  });
}

function hashOf<Own>(config: Effective<Own>): string {
  return contentHash(
    canonicalJson({ platform: withoutServices(config.platform), service: config.service }),
  );
}
