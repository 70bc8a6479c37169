import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import pg from 'pg';
import { ZodObject, type z } from 'zod';
import type { Bus, Subscription } from '../bus/bus.js';
import { busHeaders } from '../bus/bus.js';
import {
  ConfigSource,
  LiveConfig,
  loadConfigDocument,
  parseServiceConfig,
  deepMerge,
  type ServiceConfig,
} from '../config/index.js';
import { databaseUrl } from '../db/index.js';
import { parseConfigSection, platformConfigSchema } from '../config/index.js';
import type { WorkloadIdentity } from '../rpc/workload-identity.js';
import { openIdentity } from '../runtime/service-runtime.js';
import { decodeEvent, defaultSubjectPrefix, eventSubject } from '../events/index.js';

/**
 * Helpers for tests that run services against the real PostgreSQL (and NATS where the test is about
 * it). Addresses come from ORDERLY_TEST_POSTGRES_URL / ORDERLY_TEST_NATS_URL, else config/default.yaml.
 */

/**
 * The workload key folder of every test process: services a test starts (testServiceConfig,
 * testLiveConfig) and the test's own callers (testWorkloadIdentity) generate and find their keys
 * here, so they trust each other. Key pairs are created once, race-free across test processes.
 */
export const testWorkloadKeysDir = join(tmpdir(), 'orderly-test-workload-identity');

/** The platform keys tests layer on top of the defaults: the shared test key folder. */
export const testWorkloadIdentityConfig = { workloadIdentity: { keysDir: testWorkloadKeysDir } };

/**
 * A workload identity for a test acting as `name` (`gateway` to call order as the gateway does,
 * `operator` for operator RPCs and admin endpoints), trusted by services a test starts.
 */
export function testWorkloadIdentity(name: string): Promise<WorkloadIdentity> {
  const platform = parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({ argv: [], env: {}, overrides: testWorkloadIdentityConfig }).document,
  );
  return openIdentity(name, platform);
}

/** `createRpcClient`'s `identity` option for a test calling `audience` as `caller`. */
export async function testCaller(
  caller: string,
  audience: string,
): Promise<{ caller: WorkloadIdentity; audience: string }> {
  return { caller: await testWorkloadIdentity(caller), audience };
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

/**
 * A service config for tests: its own fresh database (when its schema has a `database` key), port 0,
 * in-memory bus, quiet logs.
 */
export function testServiceConfig<Schema extends z.ZodType>(
  serviceName: string,
  schema: Schema,
  overrides: { platform?: Record<string, unknown>; service?: Record<string, unknown> } = {},
): ServiceConfig<z.output<Schema>> {
  const env: Record<string, string> = {};
  if (process.env.ORDERLY_TEST_POSTGRES_URL)
    env.ORDERLY_POSTGRES__URL = process.env.ORDERLY_TEST_POSTGRES_URL;
  if (process.env.ORDERLY_TEST_NATS_URL)
    env.ORDERLY_BUS__NATS_SERVERS = process.env.ORDERLY_TEST_NATS_URL;
  const base = {
    logLevel: process.env.ORDERLY_TEST_LOG_LEVEL ?? 'silent',
    bus: { kind: 'memory', retryBackoffMs: [20, 50, 100] },
    ...testWorkloadIdentityConfig,
    services: {
      [serviceName]: {
        port: 0,
        operatorPort: 0,
        ...(hasDatabaseKey(schema) ? { database: uniqueName(`orderly_test_${serviceName}`) } : {}),
        ...overrides.service,
      },
    },
  };
  const document = loadConfigDocument({
    argv: [],
    env,
    overrides: deepMerge(base, overrides.platform ?? {}),
  });
  return parseServiceConfig(document, serviceName, schema);
}

/**
 * A service configuration that follows `file` like a running service's (LiveConfig on a watched
 * ConfigSource): the same test base as `testServiceConfig` (own database, port 0, in-memory bus)
 * layered over the file, so the file decides every other key. With `logLevelFromFile` the base
 * leaves `logLevel` to the file. Close it when done.
 */
export function testLiveConfig<Schema extends z.ZodType>(
  serviceName: string,
  schema: Schema,
  file: string,
  overrides: {
    platform?: Record<string, unknown>;
    service?: Record<string, unknown>;
    logLevelFromFile?: boolean;
  } = {},
): { live: LiveConfig<z.output<Schema>>; source: ConfigSource; close(): void } {
  const env: Record<string, string> = {};
  if (process.env.ORDERLY_TEST_POSTGRES_URL)
    env.ORDERLY_POSTGRES__URL = process.env.ORDERLY_TEST_POSTGRES_URL;
  if (process.env.ORDERLY_TEST_NATS_URL)
    env.ORDERLY_BUS__NATS_SERVERS = process.env.ORDERLY_TEST_NATS_URL;
  const base: Record<string, unknown> = {
    bus: { kind: 'memory', retryBackoffMs: [20, 50, 100] },
    ...testWorkloadIdentityConfig,
    services: {
      [serviceName]: {
        port: 0,
        operatorPort: 0,
        ...(hasDatabaseKey(schema) ? { database: uniqueName(`orderly_test_${serviceName}`) } : {}),
        ...overrides.service,
      },
    },
  };
  if (!overrides.logLevelFromFile) base.logLevel = process.env.ORDERLY_TEST_LOG_LEVEL ?? 'silent';
  const layered = deepMerge(base, overrides.platform ?? {});
  const source = new ConfigSource({
    load: () => loadConfigDocument({ argv: ['--config', file], env, overrides: layered }),
    validate: (document) => void parseServiceConfig(document, serviceName, schema),
  });
  const live = LiveConfig.follow(source, serviceName, schema);
  const reload = () => live.platform.configReload;
  source.watch(() => ({
    debounceMs: reload().debounceMs,
    pollIntervalMs: reload().pollIntervalMs,
  }));
  return {
    live,
    source,
    close: () => {
      live.close();
      source.close();
    },
  };
}

/** A service with a database gets its own fresh one (stateless services, like the gateway, have none). */
function hasDatabaseKey(schema: z.ZodType): boolean {
  return schema instanceof ZodObject && 'database' in (schema.shape as Record<string, unknown>);
}

/** Drops a test database (forcing out leftover connections). */
export async function dropTestDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl(serverUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

/** Polls `probe` until it returns without throwing, or fails with its last error. */
export async function eventually<T>(
  probe: () => T | Promise<T>,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + (options.timeoutMs ?? 10_000);
  let lastError: unknown;
  for (;;) {
    try {
      return await probe();
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) throw lastError;
    await new Promise((resolve) => setTimeout(resolve, options.intervalMs ?? 25));
  }
}

/** Records every event of the given types that crosses the bus (a test's own subscription). */
export async function recordEvents(
  bus: Bus,
  schemas: readonly DescMessage[],
  name = uniqueName('test.recorder'),
  subjectPrefix = defaultSubjectPrefix,
): Promise<{
  events: { type: string; eventId: string; message: unknown }[];
  of<D extends DescMessage>(schema: D): MessageShape<D>[];
  stop(): Promise<void>;
}> {
  const events: { type: string; eventId: string; message: unknown }[] = [];
  const byType = new Map(schemas.map((s) => [s.typeName, s]));
  const subscription: Subscription = await bus.subscribe(
    {
      name,
      subjects: schemas.map((s) => eventSubject(s, subjectPrefix)),
      maxDeliver: 1,
      ackWaitMs: 30_000,
      retryBackoffMs: [0],
      concurrency: 64,
    },
    async (delivery) => {
      const type = delivery.headers[busHeaders.eventType] ?? '';
      const schema = byType.get(type);
      if (schema)
        events.push({ type, eventId: delivery.id, message: decodeEvent(schema, delivery.data) });
      return Promise.resolve();
    },
  );
  return {
    events,
    of: <D extends DescMessage>(schema: D) =>
      events.filter((e) => e.type === schema.typeName).map((e) => e.message as MessageShape<D>),
    stop: () => subscription.stop(),
  };
}
export * from './telemetry.js';
export * from './rpc-callers.js';
export * from './ports.js';
export * from './test-service.js';
export {
  logLineCheck,
  logLineSchemaFile,
  LogLineCollector,
  type LogLineCheck,
  type LogLineProblem,
} from './log-lines.js';
export { prometheusNames, type Instrument, type InstrumentKind } from './metric-names.js';

export { recordTransactions, type RecordedTransaction } from './sql-transactions.js';
