import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import type { Bus, Subscription } from '../bus/bus.js';
import { MemoryBus, connectNatsBus } from '../bus/index.js';
import type { PlatformConfig } from '../config/index.js';
import { Database, ensureDatabase, platformMigrations } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { startEventConsumer, type EventHandler } from '../inbox/index.js';
import { createLogger, type Logger } from '../log/index.js';
import { Outbox, OutboxRelay } from '../outbox/index.js';
import { errorMappingInterceptor } from '../rpc/index.js';

/**
 * Everything technical a service needs, wired once: logger, its own database (migrated), the bus,
 * the outbox and its relay, inbox consumers, an HTTP server for Connect RPC plus `/healthz` and
 * `/readyz`, periodic tasks, and a graceful stop. Services add routes, consumers and tasks, and
 * never touch drivers.
 */
export interface ServiceRuntimeOptions {
  readonly name: string;
  readonly platform: PlatformConfig;
  readonly http: { readonly host: string; readonly port: number };
  /** The service's own database; absent for stateless services such as the gateway. */
  readonly database?: { readonly name: string; readonly migrationsPath: string };
  /** A bus shared by every service of the process (embedded mode); otherwise one is opened from config. */
  readonly bus?: Bus;
  readonly usesBus?: boolean;
  readonly log?: Logger;
}

type ReadinessCheck = (signal: AbortSignal) => Promise<void>;

interface PeriodicTask {
  readonly name: string;
  readonly intervalMs: () => number;
  readonly run: () => Promise<void>;
  timer?: NodeJS.Timeout;
  running?: Promise<void>;
}

export class ServiceRuntime {
  readonly log: Logger;
  readonly outbox: Outbox;
  private readonly checks = new Map<string, ReadinessCheck>();
  private readonly consumers: { name: string; handlers: readonly EventHandler[] }[] = [];
  private readonly subscriptions: Subscription[] = [];
  private readonly tasks: PeriodicTask[] = [];
  private routers: ((router: ConnectRouter) => void)[] = [];
  private customHandler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  private server: Server | undefined;
  private relay: OutboxRelay | undefined;
  private stopping = false;

  private constructor(
    readonly options: ServiceRuntimeOptions,
    log: Logger,
    private readonly database: Database | undefined,
    private readonly sharedBus: Bus | undefined,
    private readonly ownsBus: boolean,
  ) {
    this.log = log;
    this.outbox = new Outbox(options.platform.bus.subjectPrefix);
    if (database) this.checks.set('database', (signal) => database.ping({ signal }));
    if (sharedBus) this.checks.set('bus', () => sharedBus.ping());
  }

  static async create(options: ServiceRuntimeOptions): Promise<ServiceRuntime> {
    const { platform } = options;
    const log =
      options.log ??
      createLogger({ service: options.name, level: platform.logLevel, environment: platform.environment });
    let database: Database | undefined;
    if (options.database) {
      await ensureDatabase(platform.postgres.url, options.database.name, platform.postgres.connectTimeoutMs);
      database = new Database(
        { ...platform.postgres, database: options.database.name, applicationName: `orderly-${options.name}` },
        log,
      );
      await database.migrate([platformMigrations, { scope: options.name, path: options.database.migrationsPath }]);
    }
    let bus = options.bus;
    let ownsBus = false;
    if (!bus && (options.usesBus ?? Boolean(options.database))) {
      bus = await openBus(platform, options.name);
      ownsBus = true;
    }
    return new ServiceRuntime(options, log, database, bus, ownsBus);
  }

  get db(): Database {
    if (!this.database) throw new AppError('RUNTIME_NO_DATABASE', `${this.options.name} has no database`);
    return this.database;
  }

  get bus(): Bus {
    if (!this.sharedBus) throw new AppError('RUNTIME_NO_BUS', `${this.options.name} has no bus`);
    return this.sharedBus;
  }

  get config(): PlatformConfig {
    return this.options.platform;
  }

  /** Registers Connect RPC services; served with the platform's error mapping. */
  routes(register: (router: ConnectRouter) => void): void {
    this.routers.push(register);
  }

  /** Serves every non-health request with `handler` instead of Connect (e.g. a Fastify app). */
  serveHttp(handler: (req: IncomingMessage, res: ServerResponse) => void): void {
    this.customHandler = handler;
  }

  consume(subscription: string, handlers: readonly EventHandler[]): void {
    this.consumers.push({ name: subscription, handlers });
  }

  /** Runs `run` every `intervalMs()` (read again each time, so it can follow reloaded config). */
  every(name: string, intervalMs: () => number, run: () => Promise<void>): void {
    this.tasks.push({ name, intervalMs, run });
  }

  readiness(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** Subscribes consumers first (so nothing published meanwhile is missed), then listens, relays and schedules. */
  async subscribe(): Promise<void> {
    const { bus: busConfig } = this.options.platform;
    for (const consumer of this.consumers.splice(0)) {
      this.subscriptions.push(
        await startEventConsumer({ bus: this.bus, db: this.db, log: this.log }, consumer.name, consumer.handlers, {
          maxDeliver: busConfig.maxDeliver,
          ackWaitMs: busConfig.ackWaitMs,
          retryBackoffMs: busConfig.retryBackoffMs,
          concurrency: busConfig.consumerConcurrency,
          subjectPrefix: busConfig.subjectPrefix,
        }),
      );
    }
  }

  async start(): Promise<{ url: string }> {
    await this.subscribe();
    const url = await this.listen();
    if (this.database && this.sharedBus) {
      this.relay = new OutboxRelay(this.database, this.sharedBus, this.log, this.options.platform.outbox);
      this.relay.start();
    }
    for (const task of this.tasks) this.schedule(task);
    this.log.info({ url }, `${this.options.name} started`);
    return { url };
  }

  private async listen(): Promise<string> {
    const connect = connectNodeAdapter({
      routes: (router) => this.routers.forEach((register) => register(router)),
      interceptors: [errorMappingInterceptor(this.log)],
    });
    const appHandler = this.customHandler ?? connect;
    const server = createServer((req, res) => {
      const path = req.url?.split('?')[0];
      if (path === '/healthz') return void sendJson(res, 200, { status: 'ok' });
      if (path === '/readyz') return void this.answerReadiness(res);
      if (path?.startsWith('/admin/dead-letters') && this.sharedBus) return void this.answerDeadLetters(path, req, res);
      appHandler(req, res);
    });
    // Keep-alive connections from callers should outlive their idle gaps but not a shutdown.
    server.keepAliveTimeout = this.options.platform.rpc.defaultTimeoutMs;
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.http.port, this.options.http.host, () => resolve());
    });
    const address = server.address() as AddressInfo;
    return `http://${this.options.http.host}:${address.port}`;
  }

  private async answerReadiness(res: ServerResponse): Promise<void> {
    if (this.stopping) return void sendJson(res, 503, { status: 'stopping', checks: {} });
    const signal = AbortSignal.timeout(this.options.platform.rpc.defaultTimeoutMs);
    const results: Record<string, string> = {};
    await Promise.all(
      [...this.checks].map(async ([name, check]) => {
        try {
          await check(signal);
          results[name] = 'ok';
        } catch (error) {
          results[name] = error instanceof Error ? error.message : String(error);
        }
      }),
    );
    const ready = Object.values(results).every((r) => r === 'ok');
    sendJson(res, ready ? 200 : 503, { status: ready ? 'ready' : 'not-ready', checks: results });
  }

  /**
   * Operator endpoints on the service's internal port (never routed by the gateway):
   * `GET /admin/dead-letters` lists them, `POST /admin/dead-letters/redrive` with `{"ids":[...]}`
   * (or no body for all) redrives them. The CLI uses these in embedded mode, where the bus lives in-process.
   */
  private async answerDeadLetters(path: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
      sendJson(res, 404, { error: { code: 'ROUTE_NOT_FOUND', message: `no route ${req.method ?? ''} ${path}` } });
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
        .catch((error: unknown) => this.log.error({ err: error, task: task.name }, 'periodic task failed'))
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
    const closed = server ? new Promise<void>((resolve) => server.close(() => resolve())) : Promise.resolve();
    server?.closeIdleConnections();
    // Keep-alive connections that finish their last request while we wait must close too.
    const idleSweep = setInterval(() => server?.closeIdleConnections(), this.options.platform.shutdown.idleConnectionSweepMs);
    await closed;
    clearInterval(idleSweep);
    for (const task of this.tasks) if (task.timer) clearTimeout(task.timer);
    await Promise.all(this.tasks.map((task) => task.running ?? Promise.resolve()));
    await Promise.all(this.subscriptions.map((s) => s.stop()));
    await this.relay?.stop();
    if (this.ownsBus) await this.sharedBus?.close();
    await this.database?.close();
    this.log.info(`${this.options.name} stopped`);
  }
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
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
