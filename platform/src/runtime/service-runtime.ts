import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Bus, Subscription } from '../bus/bus.js';
import { MemoryBus, connectNatsBus } from '../bus/index.js';
import { LiveConfig, type PlatformConfig } from '../config/index.js';
import { Database, ensureDatabase, platformMigrations } from '../db/index.js';
import { AppError, findAppError } from '../errors/index.js';
import { pruneInbox, startEventConsumer, type EventHandler } from '../inbox/index.js';
import type { Logger } from '../log/index.js';
import { Outbox, OutboxRelay } from '../outbox/index.js';
import { errorMappingInterceptor, rpcServerTelemetry } from '../rpc/index.js';
import {
  callerNotAllowed,
  openWorkloadIdentity,
  rpcCallerCheck,
  type WorkloadIdentity,
} from '../rpc/workload-identity.js';
import {
  createTelemetry,
  traceHttpRequest,
  type MessagingTelemetry,
  type Telemetry,
} from '../telemetry/index.js';
import { FaultInjector } from '../faults/index.js';
import { openFlags, type Flags, type FlagsHandle } from '../flags/index.js';
import { buildInfo } from '../packaging/build-info.js';
import { Readiness, type ReadinessCheck } from './readiness.js';
import { waitForDependency } from './startup.js';

/**
 * Everything technical a service needs, wired once: logger, its own database (migrated), the bus,
 * the outbox and its relay, inbox consumers, an HTTP server for Connect RPC plus `/healthz` and
 * `/readyz`, periodic tasks, and a graceful stop. Services add routes, consumers and tasks, and
 * never touch drivers.
 */
export interface ServiceRuntimeOptions {
  readonly name: string;
  readonly platform: PlatformConfig;
  readonly http: {
    readonly host: string;
    readonly port: number;
    /** `/metrics` and `/admin/*` are served here (0: any free port), never on `port`; absent: not served. */
    readonly operatorPort?: number;
  };
  /**
   * Who may call each Connect procedure (`package.Service/Method` → workload names), read at every call
   * (so it can follow the configuration); a procedure not listed is refused. Absent: every call is refused.
   */
  readonly rpcCallers?: () => Readonly<Record<string, readonly string[]>>;
  /** This process's workload identity; otherwise opened from `platform.workloadIdentity` under the service's name. */
  readonly identity?: WorkloadIdentity;
  /** The service's own database; absent for stateless services such as the gateway. */
  readonly database?: { readonly name: string; readonly migrationsPath: string };
  /** A bus shared by every service of the process (embedded mode); otherwise one is opened from config. */
  readonly bus?: Bus;
  readonly usesBus?: boolean;
  readonly log?: Logger;
  /** Made by the runtime from `platform.telemetry` unless given; its logger is the service's logger. */
  readonly telemetry?: Telemetry;
  /**
   * The service's configuration as it follows the file (see LiveConfig); `platform` is then its
   * start value. Without it the configuration is fixed.
   */
  readonly config?: LiveConfig<unknown>;
  /** Flags shared by every service of the process (embedded mode); otherwise opened from `flags.file`. */
  readonly flags?: Flags;
}

/**
 * The HTTP server, listening from early in `create`: while dependencies are waited for it answers
 * `/healthz` (200) and `/readyz` (503) only; `start` hands it the service's own handler.
 */
interface FrontDoor {
  readonly server: Server;
  readonly url: string;
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

interface PeriodicTask {
  readonly name: string;
  readonly intervalMs: () => number;
  readonly run: () => Promise<void>;
  /** Also run once, awaited, before the consumers subscribe (see `every`). */
  readonly runBeforeConsumers: boolean;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

export class ServiceRuntime {
  readonly log: Logger;
  readonly outbox: Outbox;
  /** Tracer, meter and logger of this service: the one telemetry path (platform/src/telemetry). */
  readonly telemetry: Telemetry;
  /** `/readyz`: the 'startup' check fails until `start` finished. */
  private readonly checks: Readiness;
  private readonly consumers: {
    name: string;
    handlers: readonly EventHandler[];
    batched: boolean;
  }[] = [];
  private readonly subscriptions: Subscription[] = [];
  private readonly tasks: PeriodicTask[] = [];
  private ranBeforeConsumers = false;
  private routers: ((router: ConnectRouter) => void)[] = [];
  private customHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  private server: Server | undefined;
  private operatorServer: Server | undefined;
  private operatorUrlValue: string | undefined;
  private relay: OutboxRelay | undefined;
  private stopping = false;
  /** The configuration as it follows the file: read `runtime.live.service.x` at use time. */
  readonly live: LiveConfig<unknown>;
  /** Feature flags, with this service as the `service` attribute of every evaluation. */
  readonly flags: Flags;
  readonly faults: FaultInjector;
  private readonly stopListening: (() => void)[] = [];

  private constructor(
    readonly options: ServiceRuntimeOptions,
    log: Logger,
    private readonly database: Database | undefined,
    private readonly sharedBus: Bus | undefined,
    private readonly ownsBus: boolean,
    live: LiveConfig<unknown>,
    flags: Flags,
    private readonly ownedFlags: FlagsHandle | undefined,
    /** Signs this service's calls to others and checks the callers of its own RPCs and admin endpoints. */
    readonly identity: WorkloadIdentity,
    private readonly front: FrontDoor,
    readiness: Readiness,
  ) {
    this.server = front.server;
    this.checks = readiness;
    this.log = log;
    this.telemetry =
      options.telemetry ??
      createTelemetry({ service: options.name, platform: options.platform, log });
    this.live = live;
    this.flags = flags.withContext({ service: options.name });
    this.faults = new FaultInjector(this.flags);
    this.outbox = new Outbox(options.platform.bus.subjectPrefix);
    if (database) this.checks.set('database', (signal) => database.ping({ signal }));
    if (sharedBus) this.checks.set('bus', () => sharedBus.ping());
    this.checks.set('faults', async () => {
      const failure = await this.faults.readinessFailure();
      if (failure) throw new Error(failure);
    });
    this.stopListening.push(live.onEvent((event) => this.onConfigEvent(event)));
    this.registerConfigMetrics();
  }

  /**
   * Which configuration and flags version this process runs, as metrics an operator can compare
   * across replicas: `orderly.config.info` (1, with the hashes as attributes), whether the last
   * reload failed, how many changed keys wait for a restart, and a count of reloads by outcome.
   */
  private registerConfigMetrics(): void {
    const { meter } = this.telemetry;
    meter
      .createObservableGauge('orderly.config.info', {
        description:
          'Always 1; the attributes name the configuration and flags versions in effect.',
      })
      .addCallback((result) => {
        result.observe(1, {
          'orderly.config.hash': this.live.hash,
          'orderly.flags.hash': this.flags.status().hash,
        });
      });
    meter
      .createObservableGauge('orderly.config.reload.failed', {
        description:
          '1 while the last reload of the source was rejected (the previous version stays in effect).',
      })
      .addCallback((result) => {
        result.observe(this.live.status().reloadError ? 1 : 0, {
          'orderly.config.source': 'config',
        });
        result.observe(this.flags.status().error ? 1 : 0, { 'orderly.config.source': 'flags' });
      });
    meter
      .createObservableGauge('orderly.config.restart_required', {
        description: 'Changed configuration keys that are not reloadable and wait for a restart.',
        unit: '{key}',
      })
      .addCallback((result) => result.observe(this.live.status().restartRequired.length));
    const reloads = meter.createCounter('orderly.config.reloads', {
      description: 'Configuration reloads by outcome (applied, rejected, restart-required).',
      unit: '{reload}',
    });
    this.stopListening.push(
      this.live.onEvent((event) => reloads.add(1, { 'orderly.config.outcome': event.kind })),
    );
    this.stopListening.push(
      this.flags.onChange(() => reloads.add(1, { 'orderly.config.outcome': 'flags-applied' })),
    );
  }

  /** The audit trail of configuration changes, and the changes the runtime itself applies. */
  private onConfigEvent(event: Parameters<Parameters<LiveConfig<unknown>['onEvent']>[0]>[0]): void {
    if (event.kind === 'rejected') {
      this.log.error(
        { filesHash: event.filesHash, err: event.error },
        'configuration reload rejected, previous configuration kept',
      );
      return;
    }
    if (event.kind === 'restart-required') {
      this.log.warn(
        { configHash: event.hash, filesHash: event.filesHash, keys: event.keys },
        'configuration change needs a restart, not applied',
      );
      return;
    }
    if (event.changed.includes('logLevel')) this.log.level = this.live.platform.logLevel;
    this.log.info(
      {
        configHash: event.hash,
        filesHash: event.filesHash,
        changed: event.changed,
        restartRequired: event.restartRequired,
      },
      'configuration change applied',
    );
    if (event.restartRequired.length > 0) {
      this.log.warn(
        { keys: event.restartRequired },
        'configuration change needs a restart, not applied',
      );
    }
  }

  static async create(options: ServiceRuntimeOptions): Promise<ServiceRuntime> {
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
      await new Promise((resolve) => front.server.close(resolve));
      throw error;
    }
    const ownedFlags = options.flags
      ? undefined
      : await openFlags({
          file: platform.flags.file,
          context: () => live.platform.flags.context,
          retryIntervalMs: () => live.platform.flags.retryIntervalMs,
          log,
        });
    return new ServiceRuntime(
      { ...options, telemetry },
      log,
      database,
      bus,
      ownsBus,
      live,
      options.flags ?? (ownedFlags as Flags),
      ownedFlags,
      identity,
      front,
      readiness,
    );
  }

  get db(): Database {
    if (!this.database)
      throw new AppError('RUNTIME_NO_DATABASE', `${this.options.name} has no database`);
    return this.database;
  }

  get bus(): Bus {
    if (!this.sharedBus) throw new AppError('RUNTIME_NO_BUS', `${this.options.name} has no bus`);
    return this.sharedBus;
  }

  /** The platform keys in effect now (reloadable ones follow the configuration file). */
  get config(): PlatformConfig {
    return this.live.platform;
  }

  private messagingTelemetry(): MessagingTelemetry {
    return { telemetry: this.telemetry, system: this.options.platform.bus.kind };
  }

  /** Registers Connect RPC services; served with the platform's error mapping. */
  routes(register: (router: ConnectRouter) => void): void {
    this.routers.push(register);
  }

  /** Serves every non-health request with `handler` instead of Connect (e.g. a Fastify app). */
  serveHttp(handler: (req: IncomingMessage, res: ServerResponse) => void): void {
    this.customHandler = handler;
  }

  /**
   * Applies these events once each (inbox). `batched`: deliveries that arrive together share one
   * transaction (bus.consumerBatch). Handlers that lock rows shared between events (stock of one SKU)
   * must be set-based (`onBatch`/`onBatchOf`) and lock a run's rows in one sorted statement per
   * table: per-event handlers in a batch lock in arrival order, and two such batches deadlock.
   */
  consume(
    subscription: string,
    handlers: readonly EventHandler[],
    options: { batched?: boolean } = {},
  ): void {
    this.consumers.push({ name: subscription, handlers, batched: options.batched ?? false });
  }

  /**
   * Runs `run` every `intervalMs()` (read again each time, so it can follow reloaded config).
   * `runBeforeConsumers`: also once at start, before any consumer subscribes, so events that
   * waited while the service was down meet the state this task leaves (e.g. timed-out sagas
   * cancelled before their late answers are applied); a failure of that run fails the start.
   */
  every(
    name: string,
    intervalMs: () => number,
    run: () => Promise<void>,
    options: { readonly runBeforeConsumers?: boolean } = {},
  ): void {
    const runBeforeConsumers = options.runBeforeConsumers ?? false;
    this.tasks.push({ name, intervalMs, run, runBeforeConsumers });
  }

  readiness(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Subscribes consumers first (so nothing published meanwhile is missed), then listens, relays and schedules. */
  async subscribe(): Promise<void> {
    const { bus: busConfig } = this.options.platform;
    if (!this.ranBeforeConsumers) {
      this.ranBeforeConsumers = true;
      for (const task of this.tasks) if (task.runBeforeConsumers) await task.run();
    }
    for (const consumer of this.consumers.splice(0)) {
      this.subscriptions.push(
        await startEventConsumer(
          {
            bus: this.faults.wrapBus(this.bus),
            db: this.db,
            log: this.log,
            telemetry: this.messagingTelemetry(),
          },
          consumer.name,
          consumer.handlers,
          {
            maxDeliver: busConfig.maxDeliver,
            ackWaitMs: busConfig.ackWaitMs,
            retryBackoffMs: busConfig.retryBackoffMs,
            concurrency: busConfig.consumerConcurrency,
            subjectPrefix: busConfig.subjectPrefix,
            ...(consumer.batched ? { batch: () => this.live.platform.bus.consumerBatch } : {}),
          },
        ),
      );
    }
  }

  async start(): Promise<{ url: string }> {
    await this.subscribe();
    const url = await this.listen();
    if (this.database && this.sharedBus) {
      // The relay reads its options each time it uses them, so the reloadable ones follow the configuration.
      const live = this.live;
      const outboxOptions = new Proxy({} as PlatformConfig['outbox'], {
        get: (_target, key) => live.platform.outbox[key as keyof PlatformConfig['outbox']],
      });
      this.relay = new OutboxRelay(
        this.database,
        this.faults.wrapBus(this.sharedBus),
        this.log,
        outboxOptions,
        this.messagingTelemetry(),
      );
      this.relay.start();
      // From now on, what commits outbox rows hands them to the relay (publish on commit).
      this.outbox.handOffTo(this.relay);
    }
    const database = this.database;
    if (database) {
      // Inbox rows outlive the bus's redelivery horizon (checked by the config schema), then go.
      this.every(
        'inbox-cleanup',
        () => this.options.platform.inbox.cleanupIntervalMs,
        async () => {
          const { retentionMs, cleanupBatchSize } = this.live.platform.inbox;
          const deleted = await pruneInbox(database, {
            retentionMs,
            batchSize: cleanupBatchSize,
            continues: () => !this.stopping,
          });
          if (deleted > 0) this.log.debug({ deleted }, 'old inbox rows deleted');
        },
      );
    }
    for (const task of this.tasks) this.schedule(task);
    this.checks.delete('startup');
    this.log.info({ url, build: buildInfo() }, `${this.options.name} started`);
    return { url };
  }

  private async listen(): Promise<string> {
    const connect = connectNodeAdapter({
      routes: (router) => this.routers.forEach((register) => register(router)),
      // Telemetry outermost: its span covers the whole call and sees the mapped error code.
      interceptors: [
        rpcServerTelemetry(this.telemetry),
        errorMappingInterceptor(this.log),
        // Deny by default: a caller without a valid service token, or not listed for the procedure, is refused.
        rpcCallerCheck(this.identity, this.options.rpcCallers ?? (() => ({}))),
        this.faults.rpcInterceptor(),
      ],
    });
    const custom = this.customHandler;
    const appHandler = custom
      ? (req: IncomingMessage, res: ServerResponse) => this.withHttpFaults(req, res, custom)
      : connect;
    // The server has listened since `create` (health only); from now on it serves the service.
    this.front.handler = (req, res) => {
      const path = req.url?.split('?')[0];
      if (path === '/healthz')
        return void sendJson(res, 200, { status: 'ok', details: { build: buildInfo() } });
      if (path === '/readyz') return void this.answerReadiness(res);
      // /metrics and /admin/* are served on the operator port only (see listenOperator).
      // The gateway's HTTP API gets a server span here; Connect calls get theirs from the interceptor.
      if (custom) traceHttpRequest(this.telemetry, req, res, appHandler);
      else appHandler(req, res);
    };
    await this.listenOperator();
    return this.front.url;
  }

  /** Base URL of the operator port (`/metrics`, `/admin/*`); undefined before start or without one. */
  get operatorUrl(): string | undefined {
    return this.operatorUrlValue;
  }

  /**
   * The operator port: `/metrics` for Prometheus (no credentials), `/healthz`, `/readyz`, and the admin
   * endpoints, which need a service token from a workload in `workloadIdentity.adminCallers`.
   * Kubernetes lets only the monitoring namespace reach it (tools/build/src/k8s).
   */
  private async listenOperator(): Promise<void> {
    const port = this.options.http.operatorPort;
    if (port === undefined) return;
    const server = createServer((req, res) => {
      const path = req.url?.split('?')[0];
      if (path === '/healthz')
        return void sendJson(res, 200, { status: 'ok', details: { build: buildInfo() } });
      if (path === '/readyz') return void this.answerReadiness(res);
      if (path === this.telemetry.metricsPath && req.method === 'GET')
        return this.telemetry.serveMetrics(req, res);
      if (path?.startsWith('/admin/')) return void this.answerAdmin(path, req, res);
      sendJson(res, 404, {
        error: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method ?? ''} ${path ?? ''}` },
      });
    });
    server.keepAliveTimeout = this.options.platform.rpc.defaultTimeoutMs;
    this.operatorServer = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.options.http.host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    this.operatorUrlValue = `http://${this.options.http.host}:${address.port}`;
  }

  /** `/admin/*`: only for the workloads of `workloadIdentity.adminCallers` (the operator). */
  private async answerAdmin(
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    try {
      const caller = await this.identity.verify(req.headers.authorization);
      if (!this.live.platform.workloadIdentity.adminCallers.includes(caller))
        throw callerNotAllowed(caller, `${req.method ?? ''} ${path}`);
    } catch (error) {
      const appError = findAppError(error);
      const status = appError?.kind === 'forbidden' ? 403 : 401;
      return sendJson(res, status, {
        error: {
          code: appError?.code ?? 'CALLER_UNAUTHENTICATED',
          message: appError?.message ?? 'caller not authenticated',
        },
      });
    }
    if (path.startsWith('/admin/dead-letters') && this.sharedBus)
      return this.answerDeadLetters(path, req, res);
    sendJson(res, 404, {
      error: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method ?? ''} ${path}` },
    });
  }

  private async answerReadiness(res: ServerResponse): Promise<void> {
    if (this.stopping) return void sendJson(res, 503, { status: 'stopping', checks: {} });
    await sendReadiness(res, this.checks, this.live.platform.health, this.configDetails());
  }

  /**
   * Which configuration and flags this process runs, and whether the last reload worked. Informative:
   * a rejected reload or a change waiting for a restart does not make the service unready (it keeps
   * serving with its last good configuration).
   */
  configDetails(): Record<string, unknown> {
    const config = this.live.status();
    const flags = this.flags.status();
    let configState = 'ok';
    if (config.reloadError) configState = `reload failed: ${config.reloadError}`;
    else if (config.restartRequired.length > 0)
      configState = `restart required for: ${config.restartRequired.join(', ')}`;
    return {
      config: configState,
      configHash: config.hash,
      configFilesHash: config.filesHash,
      restartRequired: config.restartRequired,
      flags: flags.error ? flags.error : 'ok',
      flagsHash: flags.hash,
    };
  }

  /** Fault injection for requests served by a custom handler (the gateway's HTTP API). */
  private withHttpFaults(
    req: IncomingMessage,
    res: ServerResponse,
    handler: (req: IncomingMessage, res: ServerResponse) => void,
  ): void {
    this.faults.requestFault('http').then(
      async (fault) => {
        if (fault.delayMs > 0) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
        if (fault.failure) {
          return sendJson(res, 503, {
            error: { code: fault.failure.code, message: fault.failure.message },
          });
        }
        handler(req, res);
      },
      (error: unknown) => {
        this.log.error({ err: error }, 'fault injection failed, request served normally');
        handler(req, res);
      },
    );
  }

  /**
   * Operator endpoints on the service's operator port (never routed by the gateway, operator identity only):
   * `GET /admin/dead-letters` lists them, `POST /admin/dead-letters/redrive` with `{"ids":[...]}`
   * (or no body for all) redrives them. The CLI uses these in embedded mode, where the bus lives in-process.
   */
  private async answerDeadLetters(
    path: string,
    req: IncomingMessage,
    res: ServerResponse,
  ): Promise<void> {
    try {
      if (req.method === 'GET' && path === '/admin/dead-letters') {
        const letters = await this.bus.listDeadLetters();
        return sendJson(res, 200, {
          deadLetters: letters.map((l) => ({ ...l, data: Buffer.from(l.data).toString('base64') })),
        });
      }
      if (req.method === 'POST' && path === '/admin/dead-letters/redrive') {
        let body = '';
        for await (const chunk of req) body += String(chunk);
        const ids = body ? (JSON.parse(body) as { ids?: string[] }).ids : undefined;
        return sendJson(res, 200, { redriven: await this.bus.redriveDeadLetters(ids) });
      }
      sendJson(res, 404, {
        error: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method ?? ''} ${path}` },
      });
    } catch (error) {
      this.log.error({ err: error }, 'dead letter request failed');
      sendJson(res, 400, { error: { code: 'DEAD_LETTER_REQUEST_FAILED', message: String(error) } });
    }
  }

  private schedule(task: PeriodicTask): void {
    if (this.stopping) return;
    task.timer = setTimeout(() => {
      task.running = task
        .run()
        .catch((error: unknown) =>
          this.log.error({ err: error, task: task.name }, 'periodic task failed'),
        )
        .finally(() => {
          task.running = undefined;
          this.schedule(task);
        });
    }, task.intervalMs());
  }

  /**
   * Graceful stop: refuse new requests, finish in-flight ones, stop consumers after their current
   * deliveries, let the relay finish its pass, then close connections.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const server = this.server;
    const closed = server
      ? new Promise<void>((resolve) => server.close(() => resolve()))
      : Promise.resolve();
    server?.closeIdleConnections();
    // Keep-alive connections that finish their last request while we wait must close too.
    const idleSweep = setInterval(
      () => server?.closeIdleConnections(),
      this.options.platform.shutdown.idleConnectionSweepMs,
    );
    await closed;
    clearInterval(idleSweep);
    const operator = this.operatorServer;
    if (operator) {
      const operatorClosed = new Promise<void>((resolve) => operator.close(() => resolve()));
      operator.closeAllConnections();
      await operatorClosed;
    }
    for (const task of this.tasks) if (task.timer) clearTimeout(task.timer);
    await Promise.all(this.tasks.map((task) => task.running ?? Promise.resolve()));
    await Promise.all(this.subscriptions.map((s) => s.stop()));
    // Consumers and tasks have stopped writing; the relay publishes what it was handed, and any
    // later row is due at once for the next relay's start.
    this.outbox.handOffTo(undefined);
    await this.relay?.stop();
    if (this.ownsBus) await this.sharedBus?.close();
    await this.database?.close();
    for (const stopListening of this.stopListening) stopListening();
    this.faults.close();
    await this.ownedFlags?.close();
    this.log.info(`${this.options.name} stopped`);
    await this.telemetry.shutdown();
  }
}

/** `/readyz`: 200 when every check answered 'ok' within the budget, else 503 naming the others. */
async function sendReadiness(
  res: ServerResponse,
  readiness: Readiness,
  health: PlatformConfig['health'],
  details: Record<string, unknown> | undefined,
): Promise<void> {
  const checks = await readiness.evaluate({
    budgetMs: health.readyzBudgetMs,
    pingTimeoutMs: health.pingTimeoutMs,
  });
  const ready = Object.values(checks).every((r) => r === 'ok');
  sendJson(res, ready ? 200 : 503, {
    status: ready ? 'ready' : 'not-ready',
    checks,
    ...(details ? { details } : {}),
  });
}

/**
 * Listens on the service's port at once, answering only `/healthz` and `/readyz` (and 503 to anything
 * else) until the runtime replaces `handler` in `start`.
 */
async function openFrontDoor(
  options: ServiceRuntimeOptions,
  readiness: Readiness,
  health: () => PlatformConfig['health'],
): Promise<FrontDoor> {
  const server = createServer((req, res) => front.handler(req, res));
  const front: FrontDoor = {
    server,
    url: '',
    handler: (req, res) => {
      const path = req.url?.split('?')[0];
      if (path === '/healthz')
        return void sendJson(res, 200, { status: 'ok', details: { build: buildInfo() } });
      if (path === '/readyz') return void sendReadiness(res, readiness, health(), undefined);
      sendJson(res, 503, {
        error: { code: 'SERVICE_STARTING', message: `${options.name} is starting` },
      });
    },
  };
  // Keep-alive connections from callers should outlive their idle gaps but not a shutdown.
  server.keepAliveTimeout = options.platform.rpc.defaultTimeoutMs;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(
      {
        port: options.http.port,
        host: options.http.host,
        backlog: options.platform.http.listenBacklog,
      },
      () => resolve(),
    );
  });
  const address = server.address() as AddressInfo;
  return Object.assign(front, { url: `http://${options.http.host}:${address.port}` });
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
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
    servers: platform.bus.natsServers,
    stream: platform.bus.stream,
    deadLetterStream: platform.bus.deadLetterStream,
    duplicateWindowMs: platform.bus.duplicateWindowMs,
    connectTimeoutMs: platform.bus.connectTimeoutMs,
    subjects: [`${platform.bus.subjectPrefix}.>`],
    deadLetterSubjectPrefix: platform.bus.deadLetterSubjectPrefix,
    name: `orderly-${clientName}`,
  });
}
