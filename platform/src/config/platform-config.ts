import { z } from 'zod';
import { configValue, parseConfigSection, type ConfigDocument } from './load-config.js';

/** Keys every service reads; each service adds its own section under `services.<name>`. */
export const platformConfigSchema = z
  .object({
    environment: z.string().min(1),
    logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    dataDir: z.string().min(1),
    postgres: z.strictObject({
      /** Server address and credentials; each service connects to its own database on it. */
      url: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// URL'),
      poolSize: configValue.positiveInt(),
      statementTimeoutMs: configValue.durationMs(),
      connectTimeoutMs: configValue.durationMs(),
      idleTimeoutMs: configValue.durationMs(),
    }),
    bus: z.strictObject({
      kind: z.enum(['nats', 'memory']),
      natsServers: z.string().regex(/^nats:\/\//, 'must be a nats:// URL'),
      stream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
      deadLetterStream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
      /** First subject token of every event (`<prefix>.order.v1.OrderPlaced`); the stream takes `<prefix>.>`. */
      subjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+$/, 'one subject token'),
      /** Subjects of the dead-letter stream: `<prefix>.<subscription>`. Must not overlap the events. */
      deadLetterSubjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+$/, 'one subject token'),
      duplicateWindowMs: configValue.durationMs(),
      connectTimeoutMs: configValue.durationMs(),
      maxDeliver: configValue.positiveInt(),
      ackWaitMs: configValue.durationMs(),
      retryBackoffMs: configValue.durationsMs(),
      consumerConcurrency: configValue.positiveInt(),
    }),
    outbox: z.strictObject({
      batchSize: configValue.positiveInt(),
      pollIntervalMs: configValue.durationMs(),
      retryBaseMs: configValue.durationMs(),
      retryMaxMs: configValue.durationMs(),
      retentionMs: configValue.durationMs(),
      cleanupIntervalMs: configValue.durationMs(),
    }),
    rpc: z.strictObject({
      /** Deadline for a call that arrives without one, and for calls this service makes. */
      defaultTimeoutMs: configValue.durationMs(),
    }),
    shutdown: z.strictObject({
      graceMs: configValue.durationMs(),
      /** How often a stopping server closes keep-alive connections that became idle. */
      idleConnectionSweepMs: configValue.positiveInt(),
    }),
    embedded: z.strictObject({
      postgresPort: configValue.port(),
      postgresUser: z.string().min(1),
      postgresPassword: z.string(),
    }),
    services: z.record(z.string(), z.unknown()),
  })
  .strict();

export type PlatformConfig = z.output<typeof platformConfigSchema>;

/** What a service's `main.ts` gets: the platform's keys plus its own validated section. */
export interface ServiceConfig<Own> {
  readonly platform: PlatformConfig;
  readonly service: Own;
}

export function parseServiceConfig<Schema extends z.ZodType>(
  document: ConfigDocument,
  serviceName: string,
  serviceSchema: Schema,
): ServiceConfig<z.output<Schema>> {
  const platform = parseConfigSection(platformConfigSchema, document.document);
  const service = parseConfigSection(serviceSchema, document.document, ['services', serviceName]);
  return Object.freeze({ platform: Object.freeze(platform), service: Object.freeze(service) as z.output<Schema> });
}
