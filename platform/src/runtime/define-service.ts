import type { z } from 'zod';
import type { Bus } from '../bus/index.js';
import {
  liveConfigOf,
  type ConfigDocument,
  type LiveConfig,
  type ServiceConfig,
} from '../config/index.js';
import { AppError } from '../errors/index.js';
import type { Flags } from '../flags/index.js';
import type { Logger } from '../log/index.js';
import type { WorkloadIdentity } from '../rpc/index.js';
import { ServiceRuntime } from './service-runtime.js';

/**
 * The keys every service's configuration section has: where it listens (`host`, `port`,
 * `operatorPort`), who may call each of its RPCs (`rpcCallers`) and, for a service with a
 * database, the database's name (`database`).
 */
export interface ServiceSection {
  readonly host: string;
  readonly port: number;
  readonly operatorPort: number;
  readonly rpcCallers: Readonly<Record<string, readonly string[]>>;
  readonly database?: string;
}

/** What `wire` is given besides the runtime. */
export interface ServiceContext<Config, Adapters = object> {
  /** The configuration as it follows the file: read `live.service.x` where it is used, never copy it. */
  readonly live: LiveConfig<Config>;
  /** The system clock, or the one a test passes. */
  readonly clock: () => Date;
  /** The service's own adapters a test replaces (a payment provider, a sender); empty otherwise. */
  readonly adapters: Partial<Adapters>;
}

/**
 * One service, declared once: read by `createService` (tests, the embedded launcher),
 * `runServiceMain` (its own process), and by the tools that list the services (build, chaos, CLI).
 */
export interface ServiceDefinition<
  Name extends string = string,
  Config extends ServiceSection = ServiceSection,
  Adapters = object,
> {
  /** The workload name: its `services.<name>` section, telemetry's service name, its identity. */
  readonly name: Name;
  readonly configSchema: z.ZodType<Config>;
  /**
   * The service's own PostgreSQL database, named by its `database` key and migrated from
   * `migrationsPath` at start; absent for a stateless service (the gateway).
   */
  readonly database?: { readonly migrationsPath: string };
  /** Whether it publishes or consumes events; by default, when it has a database. */
  readonly usesBus?: boolean;
  /**
   * Rules across sections of the whole document (one service's timeout against another's),
   * checked with the schemas at start and at every reload; they throw a ConfigError.
   */
  readonly checkDocument?: (document: ConfigDocument) => void;
  /** Rules on the service's section against the platform keys, checked before anything is opened. */
  readonly checkConfig?: (config: ServiceConfig<Config>) => void;
  /**
   * Registers the service's RPC routes (or HTTP handler), consumers, periodic tasks and readiness
   * checks on a runtime made from this definition, and may prepare data (a seed, a signing key).
   * A failure stops the runtime and fails the creation.
   */
  readonly wire: (
    runtime: ServiceRuntime,
    context: ServiceContext<Config, Adapters>,
  ) => Promise<void> | void;
}

/** Any service's definition, as lists of services hold them. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each entry keeps its own config type
export type AnyServiceDefinition = ServiceDefinition<string, any, any>;

/**
 * Declares a service. The name stays a literal type, and whether it has a database is part of the
 * type, so a list of definitions yields its names and its services with a database as types.
 */
export function defineService<
  const Name extends string,
  Config extends ServiceSection,
  Adapters = object,
  Database extends { readonly migrationsPath: string } | undefined = undefined,
>(
  definition: ServiceDefinition<Name, Config, Adapters> & { readonly database?: Database },
): ServiceDefinition<Name, Config, Adapters> & { readonly database: Database } {
  return definition as ServiceDefinition<Name, Config, Adapters> & { readonly database: Database };
}

export interface CreateServiceOptions<Config, Adapters = object> {
  /** A `LiveConfig` (runServiceMain, the launcher) makes the reloadable keys follow the file. */
  readonly config: ServiceConfig<Config>;
  /** A bus shared by every service of the process; given only to a service that uses the bus. */
  readonly bus?: Bus;
  /** Flags shared by every service of the process; otherwise opened from `flags.file`. */
  readonly flags?: Flags;
  readonly log?: Logger;
  readonly clock?: () => Date;
  /** Otherwise opened from `platform.workloadIdentity` under the service's name. */
  readonly identity?: WorkloadIdentity;
  readonly adapters?: Partial<Adapters>;
}

/**
 * The service of `definition`, wired but not started: a runtime listening on the section's host,
 * port and operator port, checking callers against its `rpcCallers`, with its database migrated and
 * its bus; then `wire`. The caller starts and stops it.
 */
export async function createService<Name extends string, Config extends ServiceSection, Adapters>(
  definition: ServiceDefinition<Name, Config, Adapters>,
  options: CreateServiceOptions<Config, Adapters>,
): Promise<ServiceRuntime> {
  const live = liveConfigOf(options.config, definition.name);
  const { platform, service } = live;
  definition.checkConfig?.(live);
  const usesBus = definition.usesBus ?? definition.database !== undefined;
  const runtime = await ServiceRuntime.create({
    name: definition.name,
    platform,
    http: { host: service.host, port: service.port, operatorPort: service.operatorPort },
    rpcCallers: () => live.service.rpcCallers,
    ...(definition.database
      ? {
          database: {
            name: databaseName(definition.name, service),
            migrationsPath: definition.database.migrationsPath,
          },
        }
      : {}),
    usesBus,
    ...(usesBus && options.bus ? { bus: options.bus } : {}),
    ...(options.log ? { log: options.log } : {}),
    ...(options.identity ? { identity: options.identity } : {}),
    config: live,
    flags: options.flags,
  });
  try {
    await definition.wire(runtime, {
      live,
      clock: options.clock ?? (() => new Date()),
      adapters: options.adapters ?? {},
    });
  } catch (error) {
    await runtime.stop();
    throw error;
  }
  return runtime;
}

function databaseName(service: string, section: ServiceSection): string {
  if (!section.database)
    throw new AppError(
      'RUNTIME_NO_DATABASE',
      `${service} declares a database but its configuration has no services.${service}.database`,
    );
  return section.database;
}
