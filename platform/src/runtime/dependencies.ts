import { join } from 'node:path';
import { MemoryBus, connectNatsBus, type Bus } from '../bus/index.js';
import { LiveConfig, type PlatformConfig } from '../config/index.js';
import { Database, ensureDatabase, platformMigrations } from '../db/index.js';
import { openFlags, type Flags, type FlagsHandle } from '../flags/index.js';
import type { Logger } from '../log/index.js';
import { openWorkloadIdentity, type WorkloadIdentity } from '../rpc/index.js';
import { createTelemetry, type Telemetry } from '../telemetry/index.js';
import { openFrontDoor, type FrontDoor } from './front-door.js';
import { Readiness } from './readiness.js';
import type { ServiceRuntimeOptions } from './service-options.js';
import { waitForDependency } from './startup.js';

/** What a service runtime is made of, opened by `openServiceParts`. */
export interface ServiceParts extends ServiceDependencies {
  readonly telemetry: Telemetry;
  readonly identity: WorkloadIdentity;
  readonly live: LiveConfig<unknown>;
  /** `/readyz`: the 'startup' check fails until the service started. */
  readonly readiness: Readiness;
  readonly front: FrontDoor;
  /** The given flags (`options.flags`), or flags opened from `flags.file`. */
  readonly flags: Flags;
  /** The flags opened here, which the service closes. */
  readonly ownedFlags: FlagsHandle | undefined;
}

/**
 * Opens what `ServiceRuntime.create` needs, in this order: telemetry, the workload identity, the
 * front door, the database and the bus (each then a readiness check), the flags. The front door is
 * closed again if the database or the bus cannot be opened.
 */
export async function openServiceParts(options: ServiceRuntimeOptions): Promise<ServiceParts> {
  const { platform } = options;
  // Telemetry first: its logger (trace ids on every line, OTLP when configured) is the service's.
  const telemetry =
    options.telemetry ?? createTelemetry({ service: options.name, platform, log: options.log });
  const log = telemetry.log;
  // Before any connection: a production process without its mounted workload key stops here.
  const identity = options.identity ?? (await openIdentity(options.name, platform));
  const live = options.config ?? LiveConfig.fixed({ platform, service: {} }, options.name);
  // Listening before the dependencies are reached: alive (/healthz) but not ready (/readyz) while
  // PostgreSQL or NATS is waited for, so a system comes up whatever the order its parts start in.
  const readiness = new Readiness();
  readiness.fail('startup', 'starting');
  const front = await openFrontDoor(options, readiness, () => live.platform.health);
  let dependencies: ServiceDependencies;
  try {
    dependencies = await openDependencies(options, log, readiness, telemetry);
  } catch (error) {
    await new Promise((resolve) => front.server.close(resolve));
    throw error;
  }
  const { database, bus } = dependencies;
  if (database) readiness.set('database', (signal) => database.ping({ signal }));
  if (bus) readiness.set('bus', () => bus.ping());
  const ownedFlags = options.flags
    ? undefined
    : await openFlags({
        file: platform.flags.file,
        context: () => live.platform.flags.context,
        retryIntervalMs: () => live.platform.flags.retryIntervalMs,
        log,
      });
  const flags: Flags = options.flags ?? (ownedFlags as FlagsHandle);
  return { ...dependencies, telemetry, identity, live, readiness, front, flags, ownedFlags };
}

export interface ServiceDependencies {
  /** The service's own database, created if missing and migrated; absent without `options.database`. */
  readonly database: Database | undefined;
  readonly bus: Bus | undefined;
  /** Whether the bus was opened here (and is closed by the service), or given (`options.bus`). */
  readonly ownsBus: boolean;
}

/**
 * Opens the service's database and bus, each waited for while it cannot be reached (see startup.ts):
 * meanwhile `readiness` fails with the reason under the dependency's name. If one cannot be opened,
 * what was opened is closed again before the error is thrown.
 */
export async function openDependencies(
  options: ServiceRuntimeOptions,
  log: Logger,
  readiness: Readiness,
  /** Its tracer gives each statement of the database a span (db/statement-spans.ts). */
  telemetry?: Telemetry,
): Promise<ServiceDependencies> {
  const { platform } = options;
  const waitOptions = (dependency: string) => ({
    policy: platform.startup.dependencyRetry,
    log,
    onWaiting: (reason: string | undefined) =>
      reason === undefined ? readiness.delete(dependency) : readiness.fail(dependency, reason),
  });
  let database: Database | undefined;
  let bus = options.bus;
  let ownsBus = false;
  try {
    if (options.database) {
      const { name, migrationsPath } = options.database;
      const db = new Database(
        { ...platform.postgres, database: name, applicationName: `orderly-${options.name}` },
        log,
        telemetry?.enabled ? telemetry.tracer : undefined,
      );
      database = db;
      await waitForDependency(
        'postgres',
        async () => {
          await ensureDatabase(platform.postgres.url, name, platform.postgres.connectTimeoutMs);
          await db.migrate([platformMigrations, { scope: options.name, path: migrationsPath }]);
        },
        waitOptions('postgres'),
      );
    }
    if (!bus && (options.usesBus ?? Boolean(options.database))) {
      bus = await waitForDependency(
        platform.bus.kind,
        () => openBus(platform, options.name),
        waitOptions(platform.bus.kind),
      );
      ownsBus = true;
    }
  } catch (error) {
    await database?.close().catch(() => {});
    throw error;
  }
  return { database, bus, ownsBus };
}

/** This process's workload identity from `platform.workloadIdentity` (keys under dataDir unless absolute). */
export function openIdentity(name: string, platform: PlatformConfig): Promise<WorkloadIdentity> {
  const settings = platform.workloadIdentity;
  return openWorkloadIdentity(
    name,
    {
      keysDir: settings.keysDir,
      dataDir: platform.dataDir,
      generateDevKeys: settings.generateDevKeys,
      production: platform.environment === 'production',
      trustRefreshMinIntervalMs: settings.trustRefreshMinIntervalMs,
    },
    settings,
  );
}

export async function openBus(platform: PlatformConfig, clientName: string): Promise<Bus> {
  if (platform.bus.kind === 'memory') {
    return new MemoryBus({ deadLetterFile: join(platform.dataDir, 'dead-letters.jsonl') });
  }
  return connectNatsBus({
    servers: natsServerList(platform.bus.natsServers),
    stream: platform.bus.stream,
    deadLetterStream: platform.bus.deadLetterStream,
    duplicateWindowMs: platform.bus.duplicateWindowMs,
    streamReplicas: platform.bus.streamReplicas,
    pullExpiresMs: platform.bus.pullExpiresMs,
    connectTimeoutMs: platform.bus.connectTimeoutMs,
    subjects: [`${platform.bus.subjectPrefix}.>`],
    deadLetterSubjectPrefix: platform.bus.deadLetterSubjectPrefix,
    name: `orderly-${clientName}`,
  });
}

/** `bus.natsServers` as the client takes it: one entry per comma-separated URL. */
export function natsServerList(natsServers: string): string[] {
  return natsServers
    .split(',')
    .map((server) => server.trim())
    .filter((server) => server !== '');
}
