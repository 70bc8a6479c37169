import type { ServerResponse } from 'node:http';
import type { ConnectRouter } from '@connectrpc/connect';
import type { Bus } from '../bus/index.js';
import type { LiveConfig, PlatformConfig } from '../config/index.js';
import type { Database } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { FaultInjector } from '../faults/index.js';
import type { Flags } from '../flags/index.js';
import type { EventHandler } from '../inbox/index.js';
import type { Logger } from '../log/index.js';
import { Outbox } from '../outbox/index.js';
import { buildInfo } from '../packaging/index.js';
import type { WorkloadIdentity } from '../rpc/index.js';
import type { Telemetry } from '../telemetry/index.js';
import { observeConfig } from './config-observer.js';
import { openServiceParts, type ServiceParts } from './dependencies.js';
import { registerConsumerLagMetrics, registerReadinessMetrics } from './health-metrics.js';
import { ServiceDiagnostics } from './diagnostics.js';
import { closeFrontDoor, serveService, type RequestHandler } from './front-door.js';
import { sendJson } from './json-answers.js';
import { ServiceMessaging } from './messaging.js';
import { openOperatorEndpoints, type OperatorEndpoints } from './operator-endpoints.js';
import {
  ConsoleSources,
  type OperatorGetSource,
  type SummarySource,
  type TimelineSource,
} from './console-endpoints.js';
import { configDetails, sendReadiness, type ReadinessCheck } from './readiness.js';
import { Scheduler } from './scheduler.js';
import type { ServiceRuntimeOptions } from './service-options.js';

export type { ServiceRuntimeOptions } from './service-options.js';
export { openBus, openIdentity } from './dependencies.js';

/**
 * Everything technical a service needs, wired once: logger, its own database (migrated), the bus,
 * the outbox and its relay, inbox consumers, an HTTP server for Connect RPC plus `/healthz` and
 * `/readyz`, periodic tasks, and a graceful stop. Services add routes, consumers and tasks, and
 * never touch drivers.
 */
export class ServiceRuntime {
  readonly log: Logger;
  readonly outbox: Outbox;
  /** Tracer, meter and logger of this service: the one telemetry path (platform/src/telemetry). */
  readonly telemetry: Telemetry;
  /** The configuration as it follows the file: read `runtime.live.service.x` at use time. */
  readonly live: LiveConfig<unknown>;
  /** Feature flags, with this service as the `service` attribute of every evaluation. */
  readonly flags: Flags;
  readonly faults: FaultInjector;
  /** Signs this service's calls to others and checks the callers of its own RPCs and admin endpoints. */
  readonly identity: WorkloadIdentity;
  /** What `/admin/debug/resources` on the operator port reports (handles, heap, backlog, lag). */
  readonly diagnostics: ServiceDiagnostics;
  /** What `/admin/timeline/*` and `/admin/summary` on the operator port answer (the console's). */
  readonly consoleSources = new ConsoleSources();
  private readonly scheduler: Scheduler;
  private readonly messaging: ServiceMessaging;
  private readonly stopObservingConfig: () => void;
  private readonly routers: ((router: ConnectRouter) => void)[] = [];
  private customHandler: RequestHandler | undefined;
  private operator: OperatorEndpoints | undefined;
  private readonly closeAtStop: (() => Promise<void>)[] = [];
  private stopping = false;

  private constructor(
    readonly options: ServiceRuntimeOptions,
    private readonly parts: ServiceParts,
  ) {
    this.log = parts.telemetry.log;
    this.telemetry = parts.telemetry;
    this.identity = parts.identity;
    this.live = parts.live;
    this.flags = parts.flags.withContext({ service: options.name });
    this.faults = new FaultInjector(this.flags);
    this.outbox = new Outbox(options.platform.bus.subjectPrefix);
    this.scheduler = new Scheduler(this.log, () => this.stopping);
    this.messaging = new ServiceMessaging(this);
    this.diagnostics = new ServiceDiagnostics({
      name: options.name,
      database: parts.database,
      bus: parts.bus,
      subscriptions: () => this.messaging.subscriptionNames(),
      platform: () => this.live.platform,
    });
    parts.readiness.set('faults', async () => {
      const failure = await this.faults.readinessFailure();
      if (failure) throw new Error(failure);
    });
    this.stopObservingConfig = observeConfig(this);
    // Collected until telemetry shuts down, the last step of stop().
    registerReadinessMetrics({
      meter: this.telemetry.meter,
      readiness: parts.readiness,
      budget: () => ({
        budgetMs: this.live.platform.health.readyzBudgetMs,
        pingTimeoutMs: this.live.platform.health.pingTimeoutMs,
      }),
      stopping: () => this.stopping,
    });
    const { bus } = parts;
    if (bus)
      registerConsumerLagMetrics({
        meter: this.telemetry.meter,
        lag: async () => (await bus.diagnostics(this.messaging.subscriptionNames())).consumers,
      });
  }

  static async create(options: ServiceRuntimeOptions): Promise<ServiceRuntime> {
    const parts = await openServiceParts(options);
    return new ServiceRuntime({ ...options, telemetry: parts.telemetry }, parts);
  }

  get db(): Database {
    if (!this.parts.database)
      throw new AppError('RUNTIME_NO_DATABASE', `${this.options.name} has no database`);
    return this.parts.database;
  }

  get bus(): Bus {
    if (!this.parts.bus) throw new AppError('RUNTIME_NO_BUS', `${this.options.name} has no bus`);
    return this.parts.bus;
  }

  /** The platform keys in effect now (reloadable ones follow the configuration file). */
  get config(): PlatformConfig {
    return this.live.platform;
  }

  /** Base URL of the operator port (`/metrics`, `/admin/*`); undefined before start or without one. */
  get operatorUrl(): string | undefined {
    return this.operator?.url;
  }

  /** Registers Connect RPC services; served with the platform's error mapping. */
  routes(register: (router: ConnectRouter) => void): void {
    this.routers.push(register);
  }

  /** Serves every non-health request with `handler` instead of Connect (e.g. a Fastify app). */
  serveHttp(handler: RequestHandler): void {
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
    this.messaging.consume(subscription, handlers, options.batched ?? false);
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
    this.scheduler.every(name, intervalMs, run, options);
  }

  /**
   * What this service's data says about an id (an order id), for the operator console: served at
   * `GET /admin/timeline/<id>` on the operator port, gathered by the gateway's console routes.
   */
  timeline(source: TimelineSource): void {
    this.consoleSources.addTimeline(source);
  }

  /** A few named figures for the operator console (`GET /admin/summary` on the operator port). */
  summary(source: SummarySource): void {
    this.consoleSources.addSummary(source);
  }

  /**
   * A read-only JSON route of the service's own on its operator port (`GET <path>`, path under
   * `/admin/`), behind the same identity check as every `/admin/*` route (the operator only).
   */
  operatorGet(path: string, source: OperatorGetSource): void {
    this.consoleSources.addGet(path, source);
  }

  /**
   * Closes something the service opened for itself (e.g. its SharedState) when the runtime stops:
   * after the requests in flight and the consumers finished, before the database and the bus.
   */
  closeOnStop(close: () => Promise<void>): void {
    this.closeAtStop.push(close);
  }

  /** Adds a check to `/readyz`. */
  readiness(name: string, check: ReadinessCheck): void {
    this.parts.readiness.set(name, check);
  }

  /** Subscribes consumers first (so nothing published meanwhile is missed), then listens, relays and schedules. */
  async subscribe(): Promise<void> {
    await this.scheduler.runBeforeConsumers();
    await this.messaging.subscribe();
  }

  async start(): Promise<{ url: string }> {
    await this.subscribe();
    const { front, database, bus, readiness } = this.parts;
    const answerReadiness = (res: ServerResponse) => this.answerReadiness(res);
    serveService(front, this, {
      routers: this.routers,
      custom: this.customHandler,
      answerReadiness,
    });
    this.operator = await openOperatorEndpoints(this, bus, answerReadiness);
    this.messaging.start(database, bus, this.scheduler, () => !this.stopping);
    this.scheduler.start();
    readiness.delete('startup');
    this.log.info({ url: front.url, build: buildInfo() }, `${this.options.name} started`);
    return { url: front.url };
  }

  private async answerReadiness(res: ServerResponse): Promise<void> {
    if (this.stopping) return void sendJson(res, 503, { status: 'stopping', checks: {} });
    const { readiness } = this.parts;
    await sendReadiness(res, readiness, this.live.platform.health, this.configDetails());
  }

  /** Which configuration and flags this process runs (see `configDetails` in readiness.ts). */
  configDetails(): Record<string, unknown> {
    return configDetails(this.live, this.flags);
  }

  /**
   * Graceful stop: refuse new requests, finish in-flight ones, stop consumers after their current
   * deliveries, let the relay finish its pass, then close connections.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const { front, ownsBus, bus, database, ownedFlags } = this.parts;
    await closeFrontDoor(front, this.options.platform.shutdown.idleConnectionSweepMs);
    await this.operator?.close();
    await this.scheduler.stop();
    // Consumers and tasks have stopped writing; the relay publishes what it was handed.
    await this.messaging.stop();
    for (const close of this.closeAtStop)
      await close().catch((error: unknown) =>
        this.log.warn({ err: error }, 'closing at stop failed'),
      );
    if (ownsBus) await bus?.close();
    await database?.close();
    this.stopObservingConfig();
    this.faults.close();
    this.diagnostics.close();
    await ownedFlags?.close();
    this.log.info(`${this.options.name} stopped`);
    await this.telemetry.shutdown();
  }
}
