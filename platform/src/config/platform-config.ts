import { z } from 'zod';
import { configValue, parseConfigSection, type ConfigDocument } from './load-config.js';
import { reloadable } from './reloadable.js';

const workloadName = z
  .string()
  .regex(/^[a-z][a-z0-9-]{0,62}$/, 'a workload name (lower-case letters, digits and -)');

/**
 * Keys every service reads; each service adds its own section under `services.<name>`.
 * Keys wrapped in `reloadable(...)` follow the configuration file while the process runs.
 */
export const platformConfigSchema = z
  .object({
    environment: z.string().min(1),
    logLevel: reloadable(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])),
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
      /** One server or several, comma-separated (`nats://a:4222,nats://b:4222`): the client tries each. */
      natsServers: z
        .string()
        .regex(
          /^nats:\/\/[^,\s]+(,\s*nats:\/\/[^,\s]+)*$/,
          'must be nats:// URLs, comma-separated',
        ),
      stream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
      deadLetterStream: z.string().regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only'),
      /** First subject token of every event (`<prefix>.order.v1.OrderPlaced`); the stream takes `<prefix>.>`. */
      subjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+$/, 'one subject token'),
      /** Subjects of the dead-letter stream: `<prefix>.<subscription>`. Must not overlap the events. */
      deadLetterSubjectPrefix: z.string().regex(/^[A-Za-z0-9_-]+$/, 'one subject token'),
      duplicateWindowMs: configValue.durationMs(),
      /**
       * Copies JetStream keeps of each stream (num_replicas): 1 on a single server, 3 on a three-node
       * cluster, where a publish is acknowledged once a majority stored it. Applied when the stream is
       * created or its configuration differs; more than the cluster's servers is refused by JetStream.
       */
      streamReplicas: z.coerce.number().int().min(1).max(5),
      /**
       * How long a consumer's pull request waits on the server. The client pulls again after two
       * missed heartbeats (each half of this): the longest a subscription stays deaf after the node
       * leading its consumer dies or is cut off. JetStream refuses less than 1000.
       */
      pullExpiresMs: z.coerce.number().int().min(1000),
      connectTimeoutMs: configValue.durationMs(),
      maxDeliver: configValue.positiveInt(),
      ackWaitMs: configValue.durationMs(),
      retryBackoffMs: configValue.durationsMs(),
      consumerConcurrency: configValue.positiveInt(),
      /** Deliveries of one subscription applied in one transaction (see startEventConsumer). */
      consumerBatch: reloadable(
        z.strictObject({
          /** Most deliveries in one transaction; 1 applies each on its own. */
          maxBatch: configValue.positiveInt(),
          /** Batch transactions of one subscription running at once (each holds a connection). */
          maxInFlight: configValue.positiveInt(),
        }),
      ),
    }),
    /**
     * Committed outbox rows are handed to the relay in process and published at once; a safety pass
     * finds what was left (crash, failed publish) when it falls due, or every safetyIntervalMs.
     */
    outbox: z.strictObject({
      /** Rows one safety pass claims at most. */
      batchSize: reloadable(configValue.positiveInt()),
      /** Rows handed to this process's relay are left to it this long before any relay's safety pass may take them. */
      handoffLeaseMs: reloadable(configValue.durationMs()),
      /** Publishes awaiting the broker's acknowledgement at once. */
      maxInFlight: reloadable(configValue.positiveInt()),
      /** Handed events a relay holds in memory at most; more wait for the safety pass. */
      maxQueued: reloadable(configValue.positiveInt()),
      /** Acknowledged publishes gather this long before one statement marks them all published. */
      markDelayMs: reloadable(configValue.durationMs()),
      /** Longest time between two safety passes (how late another replica's orphaned rows are found). */
      safetyIntervalMs: reloadable(configValue.positiveInt()),
      retryBaseMs: reloadable(configValue.durationMs()),
      retryMaxMs: reloadable(configValue.durationMs()),
      retentionMs: reloadable(configValue.durationMs()),
      cleanupIntervalMs: configValue.durationMs(),
      /** Rows a safety pass claimed wait this long before another relay may publish them (it died). */
      claimLeaseMs: reloadable(configValue.durationMs()),
    }),
    /**
     * Inbox rows older than retentionMs are deleted in batches every cleanupIntervalMs. retentionMs must
     * exceed the redelivery horizon (inboxRedeliveryHorizonMs): a row deleted sooner could let a
     * redelivered event be applied twice.
     */
    inbox: z.strictObject({
      retentionMs: reloadable(configValue.durationMs()),
      cleanupIntervalMs: configValue.positiveInt(),
      /** Rows deleted per statement; a pass repeats statements until a batch comes back short. */
      cleanupBatchSize: reloadable(configValue.positiveInt()),
    }),
    /** A dependency (PostgreSQL, NATS) unreachable at start is waited for, with backoff and full jitter. */
    startup: z.strictObject({
      dependencyRetry: z.strictObject({
        baseDelayMs: configValue.positiveInt(),
        maxDelayMs: configValue.positiveInt(),
      }),
    }),
    /** /readyz answers within readyzBudgetMs; a check with no answer by then counts as not ready. */
    health: z.strictObject({
      readyzBudgetMs: reloadable(configValue.positiveInt()),
      /** A readiness check (database or bus ping) still running after this long is given up. */
      pingTimeoutMs: reloadable(configValue.positiveInt()),
    }),
    rpc: z.strictObject({
      /** Deadline for a call that arrives without one, and for calls this service makes. */
      defaultTimeoutMs: reloadable(configValue.durationMs()),
      /** Keep-alive connections an RPC client holds to one callee; more calls at once wait for one. */
      maxConnectionsPerCallee: configValue.positiveInt(),
      /** An RPC client closes a connection idle this long; below the services' keep-alive timeout (defaultTimeoutMs). */
      idleConnectionTimeoutMs: configValue.durationMs(),
      /** Circuit breaker and retries of RPC clients (platform/src/resilience). */
      resilience: z.strictObject({
        retry: z.strictObject({
          /** Tries in all; a retry happens only when the callee surely did not act, or the method is idempotent. */
          maxAttempts: configValue.positiveInt(),
          baseDelayMs: configValue.durationMs(),
          maxDelayMs: configValue.durationMs(),
        }),
        /** gRPC-style retry throttling: a failure takes a token, a success returns tokenRatio; retries need more than half. */
        retryBudget: z.strictObject({
          maxTokens: configValue.positiveInt(),
          tokenRatio: z.coerce.number().min(0).max(1),
        }),
        /** Opens after failureThreshold failures in a row; one trial call after openMs. */
        circuitBreaker: z.strictObject({
          failureThreshold: configValue.positiveInt(),
          openMs: configValue.durationMs(),
        }),
      }),
    }),
    /** How a running process notices a changed configuration file (see LiveConfig). */
    configReload: reloadable(
      z.strictObject({
        /** Watch the files' directories (survives the Kubernetes ConfigMap symlink swap). */
        watch: configValue.boolean(),
        /** Events closer together than this are one reload. */
        debounceMs: configValue.durationMs(),
        /** Re-read the files this often even without an event (0 = never). */
        pollIntervalMs: configValue.durationMs(),
      }),
    ),
    /** Feature flags: OpenFeature with flagd's in-process provider reading a flagd definitions file. */
    flags: z.strictObject({
      /** flagd flag definitions (JSON, flagd schema); the provider re-reads the file when it changes. */
      file: z.string().min(1),
      /** An unreadable flags file at start is tried again this often (defaults apply meanwhile). */
      retryIntervalMs: reloadable(configValue.positiveInt()),
      /** Attributes added to every evaluation context (e.g. region), next to `service` and the targeting key. */
      context: reloadable(z.record(z.string(), z.string())),
    }),
    shutdown: z.strictObject({
      graceMs: reloadable(configValue.durationMs()),
      /** How often a stopping server closes keep-alive connections that became idle. */
      idleConnectionSweepMs: configValue.positiveInt(),
    }),
    /** Every service's HTTP listener. */
    http: z.strictObject({
      /** Connections the kernel queues until the process accepts them (capped by net.core.somaxconn). */
      listenBacklog: configValue.positiveInt(),
    }),
    telemetry: z.strictObject({
      enabled: configValue.boolean(),
      /** OTLP/HTTP base URL (traces, metrics and logs); empty exports nothing. */
      otlpEndpoint: z.union([
        z.literal(''),
        z.string().regex(/^https?:\/\//, 'must be empty or an http(s):// URL'),
      ]),
      /**
       * Also append finished spans to this file as OTLP JSON lines (`orderly map`, `orderly-guard
       * traces`); relative to dataDir unless absolute. Empty: no file.
       */
      spanFile: z.string(),
      /** Probability that a new trace is sampled; children follow their parent's decision. */
      samplingRatio: z.coerce.number().min(0).max(1),
      /** `service.version` of telemetry; empty: the version of the build (packaging/build-info). */
      serviceVersion: z.string(),
      metricsPath: z.string().regex(/^\/[A-Za-z0-9/_-]*$/, 'an absolute path'),
      metricExportIntervalMs: configValue.positiveInt(),
      exportTimeoutMs: configValue.positiveInt(),
      shutdownTimeoutMs: configValue.positiveInt(),
      eventLoopDelayResolutionMs: configValue.positiveInt(),
    }),
    /** The operator port's debug endpoints, `/admin/debug/*` (platform/src/runtime/debug-endpoints.ts). */
    debug: reloadable(
      z
        .strictObject({
          /** `POST /admin/debug/cpu-profile` without `?seconds=`. */
          cpuProfileDefaultSeconds: configValue.positiveInt(),
          /** The longest CPU profile asked for; more is refused (400). */
          cpuProfileMaxSeconds: configValue.positiveInt(),
          /** V8's sampling interval while profiling. */
          cpuProfileSamplingIntervalUs: configValue.positiveInt(),
          /** Event-loop delay figures describe the last completed window of this length. */
          eventLoopDelayWindowMs: configValue.positiveInt(),
          /** `GET /admin/debug/resources?gc=1` may run a full garbage collection (heap after GC). */
          allowForcedGc: configValue.boolean(),
        })
        .refine((debug) => debug.cpuProfileDefaultSeconds <= debug.cpuProfileMaxSeconds, {
          path: ['cpuProfileDefaultSeconds'],
          message: 'must not exceed debug.cpuProfileMaxSeconds',
        }),
    ),
    /**
     * `orderly doctor` (tools/cli): how long it polls every service's `/admin/debug/resources`, and
     * how much growth over the run counts as a leak. Growth of a count is its floor (lowest sample)
     * in the second half of the run minus its floor in the first half, so traffic that comes and goes
     * does not count; heap is compared after a full garbage collection at the start and at the end.
     */
    doctor: z.strictObject({
      durationMs: configValue.positiveInt(),
      intervalMs: configValue.positiveInt(),
      /** One poll of one service may take this long; longer counts as unreachable. */
      requestTimeoutMs: configValue.positiveInt(),
      thresholds: z.strictObject({
        /** Handles (active resources) of one type, e.g. Timeout or TCPSocketWrap. */
        handleGrowth: configValue.nonNegativeInt(),
        /** Listeners on `process`, all events together. */
        listenerGrowth: configValue.nonNegativeInt(),
        /** Heap used after a full GC, last minus first. */
        heapGrowthBytes: configValue.nonNegativeInt(),
        /** Event-loop delay p99, the median over the run's samples (a level, not a growth). */
        eventLoopDelayP99Ms: configValue.positiveInt(),
        outboxBacklogGrowth: configValue.nonNegativeInt(),
        /** Messages pending or in flight, per subscription. */
        consumerLagGrowth: configValue.nonNegativeInt(),
        /** New dead letters during the run (0: any new one is reported). */
        deadLetterGrowth: configValue.nonNegativeInt(),
      }),
    }),
    /** Worker processes per service (Node cluster): the analogue of GOMAXPROCS. Needs a restart. */
    workers: z.strictObject({
      /** By service name; a service not named runs as one process. */
      count: z.record(z.string(), configValue.positiveInt()),
      /** A worker that dies unexpectedly is started again after this long. */
      restartDelayMs: configValue.durationMs(),
    }),
    /**
     * Who is calling (platform/src/rpc/workload-identity.ts): every process signs short-lived service
     * tokens with its own Ed25519 key; callees verify them and check their allowlists.
     */
    workloadIdentity: z.strictObject({
      /** `<name>.private.jwk` of this process and `<name>.public.jwk` of every trusted workload; relative to dataDir unless absolute. */
      keysDir: z.string().min(1),
      /** Create this process's key pair when missing (development). Refused with environment: production. */
      generateDevKeys: configValue.boolean(),
      tokenTtlMs: configValue.positiveInt(),
      /** A cached token is signed again when it has less than this left; below tokenTtlMs. */
      renewBeforeMs: configValue.durationMs(),
      clockSkewMs: configValue.durationMs(),
      /** Verified tokens remembered until their exp; 0 verifies every call. */
      verifiedTokenCacheSize: configValue.nonNegativeInt(),
      /** A token from a workload with no public key file looks for the file again at most this often. */
      trustRefreshMinIntervalMs: configValue.durationMs(),
      /** Workloads allowed to use the admin endpoints of the operator port (dead-letter list and redrive). */
      adminCallers: reloadable(z.array(workloadName)),
      /**
       * Workloads allowed on the console's part of the operator port (health figures, dead letters and
       * their redrive, timelines, summaries; not heap snapshots or profiles): the gateway, for admins.
       */
      consoleCallers: reloadable(z.array(workloadName)),
    }),
    embedded: z.strictObject({
      postgresPort: configValue.port(),
      postgresUser: z.string().min(1),
      postgresPassword: z.string(),
    }),
    services: z.record(z.string(), z.unknown()),
  })
  .strict()
  .superRefine((config, context) => {
    const horizonMs = inboxRedeliveryHorizonMs(config.bus);
    if (config.inbox.retentionMs <= horizonMs) {
      context.addIssue({
        code: 'custom',
        path: ['inbox', 'retentionMs'],
        message: `must be above the redelivery horizon, ${horizonMs} ms (bus.duplicateWindowMs + bus.maxDeliver × (bus.ackWaitMs + the longest bus.retryBackoffMs))`,
      });
    }
  });

/**
 * How long after an event was applied the bus may still deliver it again: a publish repeated within
 * the duplicate window is dropped by JetStream, but one just after it is stored anew; and a delivery
 * whose ack was lost comes back after ackWait (or a backoff), up to maxDeliver times. Inbox rows must
 * outlive this, or such a late copy would be applied twice.
 */
export function inboxRedeliveryHorizonMs(bus: {
  readonly duplicateWindowMs: number;
  readonly maxDeliver: number;
  readonly ackWaitMs: number;
  readonly retryBackoffMs: readonly number[];
}): number {
  return (
    bus.duplicateWindowMs + bus.maxDeliver * (bus.ackWaitMs + Math.max(0, ...bus.retryBackoffMs))
  );
}

export type PlatformConfig = z.output<typeof platformConfigSchema>;

/**
 * Keys every service section has besides host and port: `operatorPort` serves /metrics and the admin
 * endpoints (0: any free port), and `rpcCallers` lists, per procedure (`package.Service/Method`), the
 * workloads allowed to call it; a procedure not listed is refused. Spread into a service's schema.
 */
export const serviceEndpointsShape = {
  operatorPort: configValue.port(),
  rpcCallers: reloadable(
    z.record(
      z.string().regex(/^[A-Za-z0-9_.]+\/[A-Za-z0-9_]+$/, 'package.Service/Method'),
      z.array(workloadName),
    ),
  ),
};

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
  return Object.freeze({
    platform: Object.freeze(platform),
    service: Object.freeze(service) as z.output<Schema>,
  });
}
