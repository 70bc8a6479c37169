import { prepareLaunch, type ServiceLaunch } from './launch.js';
import { OwnNatsServer } from './own-nats.js';
import { NatsCluster } from '@orderly/chaos/cluster';
import { freePort } from '@orderly/platform/testing';
import { execFileSync, fork, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import {
  createRpcClient,
  loadConfigDocument,
  openIdentity,
  operatorWorkload,
  parseConfigSection,
  platformConfigSchema,
} from '@orderly/platform';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import {
  bearerHeaders,
  customerIdHeaders,
  identityServiceExists,
  targetCustomers,
  type AuthHeaders,
} from './auth.js';
import {
  BenchUsageError,
  benchSettings,
  parseCommandLine,
  phaseNames,
  usage,
  wants,
  type BenchConfig,
  type Window,
} from './config.js';
import {
  counterDeltas,
  prepareStatementCounting,
  snapshotCounters,
  type CountersSnapshot,
  type StatementCounting,
} from './counters.js';
import { summarizeProfile } from './cpu-profile.js';
import { buildEmbeddedBundle, EmbeddedSystem } from './embedded.js';
import { Histogram, latencySummaryMs } from './histogram.js';
import { checkInvariants, readDeadLetterStream } from '@orderly/chaos/invariants';
import type { LoadJob } from './loadgen/job.js';
import { failureCounts } from './failures.js';
import { checkWrittenReport, writeReport } from './report/write-report.js';
import { targets } from './targets.js';
import type {
  BenchReport,
  DrainFigures,
  EmbeddedFigures,
  HalfSaturation,
  HttpFigures,
  MatrixRow,
  SagaCost,
  SagaFigures,
  TargetRow,
  TelemetryRow,
} from './report-types.js';
import { ResourceTracker, type PhaseResources } from './resources.js';
import { runMeasuredLoad, type MeasuredLoad, type WindowHooks } from './run-load.js';
import {
  completionsBetween,
  sagaStats,
  waitForDrain,
  type SagaDatabases,
  type SagaWindowStats,
} from './sagas.js';
import {
  createDatabase,
  databaseUrlFor,
  defaultConfig,
  discoverServices,
  dropDatabase,
  DistributedSystem,
  exited,
  hasPath,
  repoRoot,
} from './system.js';

/**
 * `npm run bench`: one run on one machine — ceilings, the obvious-design baseline, then Orderly's
 * distributed system at production's trace sampling (idle, latency at fixed rates, end-to-end sagas,
 * saturation with CPU, statements and bus hops per completed saga, half of saturation), the cost of
 * 100 % sampling, and `npm start`'s embedded system — written to
 * bench/results/<date>-<commit>.{json,md} with SVG charts, the issue's targets judged in one table.
 */
/** The processes `pid` started (a service's cluster workers). */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

const log = (message: string) =>
  process.stdout.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Labels of the embedded system's processes in the resource figures (and its probe's). */
const embeddedNode = 'embedded (one Node process)';
const embeddedPostgres = 'embedded PostgreSQL';
const hotServices = ['gateway', 'order'];

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
  } catch {
    return '';
  }
}

function httpFigures(
  name: string,
  measured: MeasuredLoad,
  serverLabels: readonly string[],
): HttpFigures {
  const { load, resources } = measured;
  const windowSeconds = load.windowMs / 1000;
  const serverCpu = resources.processes
    .filter((p) => serverLabels.includes(p.label))
    .reduce((a, p) => a + p.cpuSeconds, 0);
  const loadgen = resources.processes.find((p) => p.label === 'load generator');
  const machineBusySeconds =
    (resources.machineBusyPercent / 100) * resources.cores * resources.wallSeconds;
  // open loop: every request due in the window counts once answered (late answers included);
  // closed loop: answers that arrived within the window
  const accepted =
    load.job.mode === 'open'
      ? (load.statuses[String(load.job.okStatus)] ?? 0)
      : load.acceptedInWindow;
  const acceptedPerSecond = Math.round(accepted / windowSeconds);
  return {
    failures: failureCounts(load.job.okStatus, load.statuses, load.errors),
    name,
    mode: load.job.mode,
    connections: load.job.connections,
    offeredRate: load.job.rate ?? null,
    windowSeconds,
    sent: load.sent,
    statuses: load.statuses,
    errors: load.errors,
    acceptedPerSecond,
    answeredPerSecond: Math.round(load.completedInWindow / windowSeconds),
    latencyMs: latencySummaryMs(Histogram.from(load.latency)),
    acceptedLatencyMs: latencySummaryMs(Histogram.from(load.acceptedLatency)),
    maxQueuedInGenerator: load.maxQueued,
    timeline: load.acceptedPerSecond,
    serverCpuUsPerRequest:
      accepted > 0 && serverLabels.length > 0 ? Math.round((serverCpu * 1e6) / accepted) : null,
    loadGenerator: {
      cpuSeconds: loadgen?.cpuSeconds ?? 0,
      percentOfCore: loadgen?.cpuPercentOfCore ?? 0,
      percentOfMachineBusy:
        machineBusySeconds > 0
          ? Math.round(((loadgen?.cpuSeconds ?? 0) / machineBusySeconds) * 1000) / 10
          : 0,
    },
    resources,
    ...(load.sampleErrorBody ? { sampleErrorBody: load.sampleErrorBody } : {}),
  };
}

function sagaFigures(stats: SagaWindowStats): SagaFigures {
  const cdf = stats.toConfirmed.cdf();
  const step = Math.max(1, Math.floor(cdf.length / 200));
  return {
    placed: stats.placed,
    confirmed: stats.confirmed,
    completed: stats.completed,
    cancelled: stats.cancelled,
    open: stats.open,
    toConfirmedMs: latencySummaryMs(stats.toConfirmed),
    toTerminalMs: latencySummaryMs(stats.toTerminal),
    toNotifiedMs: latencySummaryMs(stats.toNotified),
    toConfirmedCdf: cdf
      .filter((_, i) => i % step === 0 || i === cdf.length - 1)
      .map((p) => ({ ms: Math.round(p.value) / 1000, fraction: p.fraction })),
  };
}

/** Starts a child server (ceiling or baseline) and waits for the port it announces. */
async function startTarget(
  file: string,
  label: string,
  probeDir: string,
  env: Record<string, string>,
): Promise<{ child: ChildProcess; url: string }> {
  const child = fork(join(repoRoot, 'bench/src/targets', file), [], {
    execArgv: ['--import', 'tsx', '--import', join(repoRoot, 'bench/src/probe.ts')],
    env: { ...process.env, ...env, BENCH_PROBE_DIR: probeDir, BENCH_PROBE_LABEL: label },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m: { port: number }) => resolve(m.port));
    child.once('exit', (code) =>
      reject(new Error(`${label} exited with ${code} before listening`)),
    );
  });
  return { child, url: `http://127.0.0.1:${port}/v1/orders` };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited(child);
  clearTimeout(timer);
}

class Bench {
  readonly startedAt = Date.now();
  readonly workDir = mkdtempSync(join(tmpdir(), 'orderly-bench-'));
  readonly probeDir = join(this.workDir, 'probe');
  readonly profileDir = join(this.workDir, 'profiles');
  readonly tracker: ResourceTracker;
  readonly notes: string[] = [];
  readonly runId = Date.now().toString(36);
  system: DistributedSystem | undefined;
  private readonly children = new Set<ChildProcess>();
  skus: string[] = [];
  stockAtStart: Record<string, number> = {};
  auth: AuthHeaders = customerIdHeaders(1, 'bench');
  accepted = 0;
  workersSupported = false;
  private workerLabels: string[] = [];
  /** The window the CPU profiles are summarised over (the saturation window). */
  profileWindow: { fromMs: number; toMs: number } | undefined;
  embedded: EmbeddedSystem | undefined;
  statementCounting: StatementCounting = { ok: false, reason: 'not checked' };
  readonly exitedAt = new Map<string, number>();
  /** Every node of the run's own NATS cluster (--nats-cluster), for the services' bus.natsServers. */
  natsServers: string | undefined;

  constructor(readonly config: BenchConfig) {
    mkdirSync(this.probeDir, { recursive: true });
    mkdirSync(this.profileDir, { recursive: true });
    this.tracker = new ResourceTracker(this.probeDir, config.sampleEveryMs, cpus().length);
    this.tracker.track('bench (orchestrator)', process.pid);
    const defaults = defaultConfig();
    this.workersSupported = hasPath(defaults, 'workers.count');
    const applied = Object.entries(benchSettings).filter(([path]) => hasPath(defaults, path));
    if (applied.length > 0 && !config.target) {
      this.notes.push(
        `settings changed for the run (they exist in config/default.yaml): ${applied.map(([p, v]) => `${p}=${v}`).join(', ')}`,
      );
    }
  }

  job(
    url: string,
    mode: 'closed' | 'open',
    window: Window,
    extra: { connections?: number; rate?: number; keyTag: string; okStatus?: number },
  ): LoadJob {
    const c = this.config;
    return {
      url,
      kind: 'post-order',
      okStatus: extra.okStatus ?? 202,
      mode,
      connections:
        extra.connections ?? (mode === 'open' ? c.openLoopMaxConnections : c.connections),
      ...(extra.rate === undefined ? {} : { rate: extra.rate }),
      warmupMs: window.warmupMs,
      durationMs: window.durationMs,
      requestTimeoutMs: c.requestTimeoutMs,
      drainMs: c.requestTimeoutMs,
      authHeaders: this.auth.headers,
      skus: this.skus.length > 0 ? this.skus : ['BENCH-SKU-0'],
      keyPrefix: `${this.runId}-${extra.keyTag}`,
      ...this.gatewayReplicaOrigins(url),
    };
  }

  /** With --replicas, the load generator's connections go to every gateway replica in turn. */
  private gatewayReplicaOrigins(url: string): { replicaOrigins?: string[] } {
    const system = this.system;
    if (!system || !url.startsWith(system.url('gateway'))) return {};
    const others = system.replicaUrls('gateway').slice(1);
    return others.length > 0 ? { replicaOrigins: others } : {};
  }

  async load<T = undefined>(
    job: LoadJob,
    hooks?: WindowHooks<T>,
  ): Promise<MeasuredLoad & { edges?: { start: T; end: T } }> {
    const measured = await runMeasuredLoad(job, this.tracker, this.probeDir, hooks);
    // orders the system under test accepted (the invariants check they all exist)
    if (this.system && job.url.startsWith(this.system.url('gateway')))
      this.accepted += measured.load.statuses['202'] ?? 0;
    return measured;
  }

  /** Reads PostgreSQL's and JetStream's counters of `system` at a window's start and end. */
  counterHooks(system: DistributedSystem): WindowHooks<CountersSnapshot> {
    const c = this.config;
    return {
      atWindowEdge: () =>
        snapshotCounters({
          postgresUrl: c.postgresUrl,
          databases: Object.values(system.databases),
          statements: this.statementCounting.ok,
          natsUrl: c.natsUrl,
          stream: `BENCH_${system.id}`,
        }),
    };
  }

  // ---- ceilings and baseline: each in its own child process -------------------------------------

  async ceiling(file: string, label: string, name: string): Promise<HttpFigures> {
    const limits = this.config.gatewayLimits;
    const { child, url } = await startTarget(file, label, this.probeDir, {
      BENCH_MAX_LINES: String(limits.maxLinesPerOrder),
      BENCH_MAX_QUANTITY: String(limits.maxQuantityPerLine),
    });
    this.children.add(child);
    this.tracker.track(label, child.pid);
    try {
      // hello world answers 200 to anything; the Fastify ceiling 202 to a valid order
      const okStatus = file === 'hello.ts' ? 200 : 202;
      const measured = await this.load(
        this.job(url, 'closed', this.config.ceiling, { keyTag: label, okStatus }),
      );
      return httpFigures(name, measured, [label]);
    } finally {
      this.tracker.untrack(label);
      await stopChild(child);
      this.children.delete(child);
    }
  }

  async baseline(): Promise<HttpFigures> {
    const c = this.config;
    const database = `orderly_bench_${this.runId}_baseline`;
    await createDatabase(c.postgresUrl, database);
    this.tracker.setDatabases([database]);
    const { child, url } = await startTarget('baseline.ts', 'baseline', this.probeDir, {
      BENCH_BASELINE_DATABASE_URL: databaseUrlFor(c.postgresUrl, database),
      BENCH_BASELINE_POOL_SIZE: String(c.baselinePoolSize),
      BENCH_MAX_LINES: String(c.gatewayLimits.maxLinesPerOrder),
      BENCH_MAX_QUANTITY: String(c.gatewayLimits.maxQuantityPerLine),
    });
    this.children.add(child);
    this.tracker.track('baseline', child.pid);
    try {
      const measured = await this.load(this.job(url, 'closed', c.baseline, { keyTag: 'baseline' }));
      return httpFigures('Baseline: Fastify + 1 transaction (order + outbox)', measured, [
        'baseline',
      ]);
    } finally {
      this.tracker.untrack('baseline');
      await stopChild(child);
      this.children.delete(child);
      await dropDatabase(c.postgresUrl, database).catch(() => undefined);
    }
  }

  // ---- the system under test ---------------------------------------------------------------------

  private launch: Promise<ServiceLaunch> | undefined;

  async startSystem(
    nodeFlags: readonly string[],
    workers: number | undefined,
    cpuProfile: readonly string[],
    samplingRatio = this.config.productionSamplingRatio,
  ): Promise<DistributedSystem> {
    const c = this.config;
    this.accepted = 0;
    this.launch ??= prepareLaunch(c.runFrom, repoRoot, this.workDir);
    const system = await DistributedSystem.start({
      launch: await this.launch,
      postgresUrl: c.postgresUrl,
      natsUrl: c.natsUrl,
      workDir: this.workDir,
      probeDir: this.probeDir,
      ...(c.logLevel ? { logLevel: c.logLevel } : {}),
      nodeFlags,
      cpuProfile,
      cpuProfileDir: this.profileDir,
      ...(workers !== undefined && this.workersSupported
        ? { workers: { count: workers, services: hotServices } }
        : {}),
      startTimeoutMs: c.startTimeoutMs,
      replicas: c.replicas,
      ...(this.natsServers ? { natsServers: this.natsServers } : {}),
      settings: {
        ...benchSettings,
        'telemetry.samplingRatio': String(samplingRatio),
        ...(c.natsCluster ? { 'bus.streamReplicas': String(c.natsCluster) } : {}),
      },
    });
    this.system = system;
    this.workerLabels = [];
    for (const [s, pid] of Object.entries(system.pids())) {
      this.tracker.track(s, pid);
      // With workers, the service's process only supervises: its workers do the work.
      childPids(pid).forEach((workerPid, index) => {
        const label = `${s} worker ${index + 1}`;
        this.workerLabels.push(label);
        this.tracker.track(label, workerPid);
      });
    }
    this.tracker.setDatabases(Object.values(system.databases));
    await this.createCatalog(system.url('inventory'), system.dataDir);
    this.auth = await this.customers(system.url('gateway'), `bench-${this.runId}-${system.id}`);
    return system;
  }

  /** Customers with bearer tokens from /v1/auth/* when the system has the identity service. */
  async customers(gatewayUrl: string, prefix: string): Promise<AuthHeaders> {
    const c = this.config;
    return identityServiceExists(repoRoot)
      ? bearerHeaders(gatewayUrl, c.users, prefix, c.requestTimeoutMs)
      : customerIdHeaders(c.users, prefix);
  }

  /** `npm start`'s system, bundled and started on its own ports and data directory. */
  async startEmbedded(): Promise<EmbeddedSystem> {
    const c = this.config;
    this.launch ??= prepareLaunch(c.runFrom, repoRoot, this.workDir);
    const launch = await this.launch;
    const bundle = launch.kind === 'bundles' ? await buildEmbeddedBundle(repoRoot) : undefined;
    const system = await EmbeddedSystem.start({
      bundle,
      probeModule: launch.probeModule,
      probeDir: this.probeDir,
      probeLabel: embeddedNode,
      repoRoot,
      logFile: join(this.workDir, 'embedded.log'),
      startTimeoutMs: c.startTimeoutMs,
      ...(c.logLevel ? { logLevel: c.logLevel } : {}),
      settings: benchSettings,
    });
    this.embedded = system;
    this.tracker.track(embeddedNode, system.child.pid);
    this.tracker.trackDescendants(embeddedPostgres, system.child.pid);
    await this.createCatalog(system.url('inventory'), system.dataDir);
    this.auth = await this.customers(system.url('gateway'), `bench-${this.runId}-embedded`);
    return system;
  }

  async stopEmbedded(): Promise<void> {
    const system = this.embedded;
    if (!system) return;
    this.embedded = undefined;
    this.tracker.untrack(embeddedNode);
    this.tracker.untrack(embeddedPostgres);
    const code = await system.stop();
    if (code !== 0) this.notes.push(`the embedded system did not stop cleanly (${code})`);
  }

  async createCatalog(inventoryUrl: string, dataDir: string): Promise<void> {
    const c = this.config;
    // As the operator: the services trust its key, generated beside theirs under their dataDir.
    const platform = parseConfigSection(
      platformConfigSchema,
      loadConfigDocument({ argv: [], env: {}, overrides: { dataDir } }).document,
    );
    const inventory = createRpcClient(InventoryService, {
      baseUrl: inventoryUrl,
      defaultTimeoutMs: c.requestTimeoutMs,
      identity: { caller: await openIdentity(operatorWorkload, platform), audience: 'inventory' },
    });
    this.skus = Array.from({ length: c.skus }, (_, i) => `BENCH-${String(i).padStart(3, '0')}`);
    this.stockAtStart = {};
    for (const sku of this.skus) {
      await inventory.upsertProduct({ sku, name: `Bench product ${sku}`, priceCents: 1000n });
      await inventory.adjustStock({ sku, delta: c.stockPerSku });
      this.stockAtStart[sku] = c.stockPerSku;
    }
  }

  async stopSystem(): Promise<void> {
    const system = this.system;
    if (!system) return;
    this.system = undefined;
    const codes = await system.stop();
    for (const [s, at] of system.exitedAt) this.exitedAt.set(s, at);
    for (const instance of system.instances) this.tracker.untrack(instance.name);
    const failed = Object.entries(codes).filter(([, code]) => code !== 0);
    if (failed.length > 0)
      this.notes.push(
        `services that did not stop cleanly: ${failed.map(([s, code]) => `${s} (${code})`).join(', ')}`,
      );
    await system
      .cleanup()
      .catch((error: unknown) => this.notes.push(`cleanup failed: ${String(error)}`));
  }

  sagaDatabases(): SagaDatabases | undefined {
    const c = this.config;
    if (this.system) {
      return {
        orderUrl: databaseUrlFor(c.postgresUrl, this.system.databases.order ?? ''),
        notificationUrl: databaseUrlFor(c.postgresUrl, this.system.databases.notification ?? ''),
      };
    }
    if (this.embedded) return this.embedded.sagaDatabases();
    if (c.targetOrderDbUrl && c.targetNotificationDbUrl)
      return { orderUrl: c.targetOrderDbUrl, notificationUrl: c.targetNotificationDbUrl };
    return undefined;
  }

  async drain(): Promise<DrainFigures | undefined> {
    const db = this.sagaDatabases();
    if (!db) return undefined;
    const result = await waitForDrain(db, this.config.drainMaxMs, 500);
    if (!result.drained)
      this.notes.push(
        `sagas had not drained after ${Math.round(result.ms / 1000)} s: ${result.left.open} open, ${result.left.unnotified} not notified`,
      );
    return {
      drained: result.drained,
      seconds: Math.round(result.ms / 100) / 10,
      left: result.left,
    };
  }

  serviceLabels(): string[] {
    return this.system ? [...this.system.instances.map((i) => i.name), ...this.workerLabels] : [];
  }

  gatewayOrdersUrl(): string {
    if (this.config.target) return new URL('/v1/orders', this.config.target).toString();
    if (!this.system) throw new Error('no system');
    return `${this.system.url('gateway')}/v1/orders`;
  }

  killChildren(): void {
    for (const child of this.children) child.kill('SIGKILL');
    this.system?.killAll();
    this.embedded?.killAll();
  }
}

async function targetModeSetup(bench: Bench): Promise<void> {
  const c = bench.config;
  const target = c.target ?? '';
  const response = await fetch(new URL('/v1/products', target), {
    signal: AbortSignal.timeout(c.requestTimeoutMs),
  });
  const json = (await response.json()) as { products?: { sku: string; available?: number }[] };
  bench.skus = (json.products ?? []).filter((p) => (p.available ?? 1) > 1000).map((p) => p.sku);
  if (bench.skus.length === 0) bench.skus = (json.products ?? []).map((p) => p.sku);
  if (bench.skus.length === 0) throw new Error(`${target}/v1/products lists no products to order`);
  bench.notes.push(
    `target mode: ${target}; ordering ${bench.skus.length} listed products (many will run out unless stock is large)`,
  );
  bench.auth = await targetCustomers(target, c.users, `bench-${bench.runId}`, c.requestTimeoutMs);
  bench.notes.push(
    "target mode measures what a client sees — intake throughput, latency and failures, and with --order-db-url/--notification-db-url the sagas' end-to-end figures. It cannot measure the target's per-process CPU (so no CPU per saga), its statements or bus hops per saga, its idle CPU or RSS, and it runs neither the embedded system nor the 100 % sampling comparison; the ceilings and the obvious-design baseline run on this machine, which may not be the target's.",
  );
}

async function postgresFacts(url: string): Promise<Record<string, string>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const facts: Record<string, string> = {};
    for (const setting of [
      'server_version',
      'fsync',
      'synchronous_commit',
      'max_connections',
      'shared_buffers',
    ]) {
      const result = await client.query<{ value: string }>(`SELECT current_setting($1) AS value`, [
        setting,
      ]);
      facts[setting] = result.rows[0]?.value ?? '';
    }
    return facts;
  } finally {
    await client.end();
  }
}

async function matrixRow(
  bench: Bench,
  variant: string,
  nodeFlags: string[],
  workers: number | null,
): Promise<MatrixRow> {
  const c = bench.config;
  const empty = { gcMsPerSecond: {}, gcMaxPauseMs: {}, eventLoopDelayP99Ms: {}, peakRssMB: {} };
  try {
    await bench.startSystem(nodeFlags, workers ?? undefined, []);
    const url = bench.gatewayOrdersUrl();
    // Idempotency keys are tokens: the variant's name ("default heap", "--max-semi-space-size=16") is not.
    const tag = `m-${variant.replace(/[^A-Za-z0-9]+/g, '-')}`;
    const latency = await bench.load(
      bench.job(url, 'open', c.matrix.latency, {
        rate: c.matrix.latencyRate,
        keyTag: `${tag}-lat`,
      }),
    );
    const intake = await bench.load(
      bench.job(url, 'closed', c.matrix.intake, { keyTag: `${tag}-in` }),
    );
    // A row whose requests were refused measured nothing: say so instead of reporting zeros.
    const refused = Object.entries(intake.load.statuses).filter(([status]) => status !== '202');
    if (intake.load.acceptedInWindow === 0 && refused.length > 0) {
      throw new Error(
        `no order accepted (${JSON.stringify(intake.load.statuses)}): ${intake.load.sampleErrorBody ?? ''}`,
      );
    }
    // every request, failures included (at their elapsed time)
    const lat = latencySummaryMs(Histogram.from(latency.load.latency));
    const inLat = latencySummaryMs(Histogram.from(intake.load.latency));
    const row: MatrixRow = {
      variant,
      nodeFlags: nodeFlags.join(' ') || '(none)',
      workers,
      intakePerSecond: Math.round(intake.load.acceptedInWindow / (intake.load.windowMs / 1000)),
      intakeP99Ms: inLat.p99,
      latencyRate: c.matrix.latencyRate,
      p99AtRateMs: lat.p99,
      p999AtRateMs: lat.p999,
      ...empty,
    };
    for (const p of intake.resources.processes) {
      if (!hotServices.includes(p.label)) continue;
      row.gcMsPerSecond[p.label] = p.gc
        ? Math.round((p.gc.totalMs / intake.resources.wallSeconds) * 10) / 10
        : NaN;
      row.gcMaxPauseMs[p.label] = p.gc?.maxMs ?? NaN;
      row.eventLoopDelayP99Ms[p.label] = p.eventLoopDelayMs?.p99 ?? NaN;
      row.peakRssMB[p.label] = p.peakRssMB ?? NaN;
    }
    return row;
  } catch (error) {
    return {
      variant,
      nodeFlags: nodeFlags.join(' ') || '(none)',
      workers,
      intakePerSecond: NaN,
      intakeP99Ms: NaN,
      latencyRate: c.matrix.latencyRate,
      p99AtRateMs: NaN,
      p999AtRateMs: NaN,
      ...empty,
      error: String(error),
    };
  } finally {
    await bench.stopSystem();
  }
}

/** The idle figure of the whole system: its processes, its PostgreSQL (backends and shared background), NATS. */
function wholeSystemIdle(
  resources: PhaseResources,
  labels: readonly string[],
): { percentOfCore: number; parts: Record<string, number> } {
  const pct = (seconds: number) => Math.round((seconds / resources.wallSeconds) * 1000) / 10;
  const services = resources.processes
    .filter((p) => labels.includes(p.label))
    .reduce((a, p) => a + p.cpuSeconds, 0);
  const parts: Record<string, number> = {
    services: pct(services),
    "PostgreSQL (this run's backends)": pct(resources.groups['postgres (this run)']),
    'PostgreSQL (shared background)': pct(resources.groups['postgres (shared)']),
    NATS: pct(resources.groups['nats-server']),
  };
  const total =
    services +
    resources.groups['postgres (this run)'] +
    resources.groups['postgres (shared)'] +
    resources.groups['nats-server'];
  return { percentOfCore: pct(total), parts };
}

const round = (v: number, digits = 2) => Math.round(v * 10 ** digits) / 10 ** digits;

/** CPU, statements and bus hops of the completed sagas of one window. */
function sagaCost(
  resources: PhaseResources,
  labels: readonly string[],
  completed: number,
  windowSeconds: number,
  counters: { start: CountersSnapshot; end: CountersSnapshot } | undefined,
  statementCounting: StatementCounting,
  system: DistributedSystem,
): SagaCost {
  const none = completed > 0 ? undefined : { notMeasured: 'no saga completed in the window' };
  const perSaga = (v: number) => (completed > 0 ? v / completed : NaN);
  const cpuRows: { label: string; cpuSeconds: number; msPerSaga: number; note?: string }[] = [];
  for (const p of resources.processes) {
    if (!labels.includes(p.label)) continue;
    cpuRows.push({
      label: p.label,
      cpuSeconds: p.cpuSeconds,
      msPerSaga: round(perSaga(p.cpuSeconds * 1000)),
    });
  }
  const group = (
    label: string,
    key: keyof PhaseResources['groups'],
    note?: string,
  ): (typeof cpuRows)[number] => ({
    label,
    cpuSeconds: resources.groups[key],
    msPerSaga: round(perSaga(resources.groups[key] * 1000)),
    ...(note ? { note } : {}),
  });
  cpuRows.push(group("PostgreSQL (this run's databases)", 'postgres (this run)'));
  cpuRows.push(
    group(
      'PostgreSQL (shared background)',
      'postgres (shared)',
      'postmaster, WAL writer, checkpointer, background writer: they serve every database on the server',
    ),
  );
  cpuRows.push(group('NATS server', 'nats-server'));
  const cpu = none ?? {
    rows: cpuRows,
    sumMsPerSaga: round(cpuRows.reduce((a, r) => a + r.msPerSaga, 0)),
  };
  const deltas = counters ? counterDeltas(counters.start, counters.end) : {};
  const counterErrors = counters ? [...counters.start.errors, ...counters.end.errors] : [];
  let statements: SagaCost['statements'];
  if (!statementCounting.ok) statements = { notMeasured: statementCounting.reason };
  else if (!deltas.statements)
    statements = {
      notMeasured: `pg_stat_statements could not be read: ${counterErrors.join('; ') || 'no snapshot'}`,
    };
  else if (none) statements = none;
  else {
    const serviceOf = new Map(Object.entries(system.databases).map(([s, db]) => [db, s]));
    const byDatabase = Object.entries(deltas.statements)
      .map(([database, calls]) => ({
        database,
        service: serviceOf.get(database) ?? database,
        calls,
        perSaga: round(perSaga(calls), 1),
      }))
      .sort((a, b) => b.calls - a.calls);
    const total = byDatabase.reduce((a, d) => a + d.calls, 0);
    statements = { total, perSaga: round(perSaga(total), 1), byDatabase };
  }
  let commits: SagaCost['commits'];
  if (!deltas.commits)
    commits = {
      notMeasured: `pg_stat_database could not be read: ${counterErrors.join('; ') || 'no snapshot'}`,
    };
  else if (none) commits = none;
  else {
    const serviceOf = new Map(Object.entries(system.databases).map(([s, db]) => [db, s]));
    const byDatabase = Object.entries(deltas.commits)
      .map(([database, count]) => ({
        database,
        service: serviceOf.get(database) ?? database,
        commits: count,
        perSaga: round(perSaga(count), 2),
      }))
      .sort((a, b) => b.commits - a.commits);
    const total = byDatabase.reduce((a, d) => a + d.commits, 0);
    commits = { total, perSaga: round(perSaga(total), 2), byDatabase };
  }
  let bus: SagaCost['bus'];
  if (deltas.published === undefined || deltas.delivered === undefined)
    bus = {
      notMeasured: `JetStream's counters could not be read: ${counterErrors.join('; ') || 'no snapshot'}`,
    };
  else if (none) bus = none;
  else
    bus = {
      stream: `BENCH_${system.id}`,
      published: deltas.published,
      delivered: deltas.delivered,
      acked: deltas.acked ?? 0,
      publishesPerSaga: round(perSaga(deltas.published), 1),
      deliveriesPerSaga: round(perSaga(deltas.delivered), 1),
    };
  const serviceOfDatabase = new Map(Object.entries(system.databases).map(([s, db]) => [db, s]));
  const postgresByService = Object.entries(resources.postgresByDatabase ?? {})
    .map(([database, cpuSeconds]) => ({
      service: serviceOfDatabase.get(database) ?? database,
      cpuSeconds,
      msPerSaga: round(perSaga(cpuSeconds * 1000)),
    }))
    .sort((a, b) => b.cpuSeconds - a.cpuSeconds);
  return {
    completedSagas: completed,
    windowSeconds: round(windowSeconds, 1),
    cpu,
    ...(none ? {} : { postgresByService }),
    statements,
    commits,
    bus,
  };
}

/** Sampling `ratio` on a fresh distributed system, open loop at `rate`: CPU per completed saga. */
async function telemetryRow(bench: Bench, ratio: number, rate: number): Promise<TelemetryRow> {
  const c = bench.config;
  try {
    await bench.startSystem(c.nodeFlags, c.workers, [], ratio);
    const url = bench.gatewayOrdersUrl();
    const labels = bench.serviceLabels();
    await bench.load(
      bench.job(
        url,
        'closed',
        { warmupMs: 0, durationMs: c.ceiling.warmupMs },
        { connections: Math.min(50, c.connections), keyTag: `tel${ratio}-warm` },
      ),
    );
    await bench.drain();
    const measured = await bench.load(
      bench.job(url, 'open', c.telemetry.window, { rate, keyTag: `tel${ratio}` }),
    );
    await bench.drain();
    const db = bench.sagaDatabases();
    const completed = db
      ? await completionsBetween(db, measured.windowStartMs, measured.windowEndMs)
      : 0;
    const r = measured.resources;
    const servicesCpu = r.processes
      .filter((p) => labels.includes(p.label))
      .reduce((a, p) => a + p.cpuSeconds, 0);
    const systemCpu =
      servicesCpu +
      r.groups['postgres (this run)'] +
      r.groups['postgres (shared)'] +
      r.groups['nats-server'];
    const windowSeconds = (measured.windowEndMs - measured.windowStartMs) / 1000;
    return {
      samplingRatio: ratio,
      rate,
      http: httpFigures(`POST /v1/orders at ${rate}/s, sampling ${ratio}`, measured, labels),
      completedSagas: completed,
      windowSeconds: round(windowSeconds, 1),
      servicesMsPerSaga: completed > 0 ? round((servicesCpu * 1000) / completed) : NaN,
      systemMsPerSaga: completed > 0 ? round((systemCpu * 1000) / completed) : NaN,
    };
  } catch (error) {
    return { samplingRatio: ratio, rate, error: String(error) };
  } finally {
    await bench.stopSystem();
  }
}

/** `npm start`'s system: idle, then completed sagas/s at saturation, RSS. */
async function embeddedPhase(bench: Bench): Promise<EmbeddedFigures> {
  const c = bench.config;
  const document = loadConfigDocument({
    argv: [],
    env: {},
    profileFiles: [join(repoRoot, 'config/embedded.yaml')],
  }).document as { telemetry: { samplingRatio: number } };
  const figures: { -readonly [K in keyof EmbeddedFigures]: EmbeddedFigures[K] } = {
    bundle:
      c.runFrom === 'bundles'
        ? 'dist/bench/orderly-embedded.mjs (tools/launcher/src/embedded.ts bundled by bench/src/embedded.ts)'
        : 'TypeScript source via tsx (tools/launcher/src/embedded.ts, as `npm start` runs it)',
    samplingRatio: `${document.telemetry.samplingRatio} (npm start's configuration: config/default.yaml + config/embedded.yaml)`,
  };
  try {
    const system = await bench.startEmbedded();
    const url = `${system.url('gateway')}/v1/orders`;
    const labels = [embeddedNode, embeddedPostgres];
    await bench.load(
      bench.job(
        url,
        'closed',
        { warmupMs: 0, durationMs: c.ceiling.warmupMs },
        { connections: Math.min(50, c.connections), keyTag: 'emb-warm' },
      ),
    );
    await bench.drain();
    log(`embedded idle: ${c.embedded.idleMs / 1000} s with no load`);
    const start = bench.tracker.snapshot(true);
    await sleep(c.embedded.idleMs);
    const idle = bench.tracker.figures(start, bench.tracker.snapshot());
    figures.idle = {
      resources: idle,
      percentOfCore: round(
        idle.processes
          .filter((p) => labels.includes(p.label))
          .reduce((a, p) => a + p.cpuPercentOfCore, 0),
        1,
      ),
    };
    log(`  ${figures.idle.percentOfCore} % of a core`);
    log(
      `embedded saturation: ${c.connections} connections for ${c.embedded.saturation.durationMs / 1000} s`,
    );
    const measured = await bench.load(
      bench.job(url, 'closed', c.embedded.saturation, { keyTag: 'emb-sat' }),
    );
    figures.intake = httpFigures(
      `Embedded intake: POST /v1/orders, ${c.connections} connections`,
      measured,
      labels,
    );
    const db = system.sagaDatabases();
    const windowSeconds = (measured.windowEndMs - measured.windowStartMs) / 1000;
    const inWindow = await completionsBetween(db, measured.windowStartMs, measured.windowEndMs);
    const drain = await bench.drain();
    const stats = await sagaStats(db, measured.windowStartMs, measured.windowEndMs, Date.now());
    figures.sustainedSagasPerSecond = Math.round(inWindow / windowSeconds);
    figures.windowSeconds = Math.round(windowSeconds);
    figures.sagas = sagaFigures(stats);
    if (drain) figures.drain = drain;
    const node = measured.resources.processes.find((p) => p.label === embeddedNode);
    const postgres = measured.resources.processes.find((p) => p.label === embeddedPostgres);
    figures.peakRssMB = node?.peakRssMB ?? null;
    figures.postgresPssMB = postgres?.tree?.maxSampledPssMB ?? null;
    if (inWindow > 0) {
      const nodeMs = ((node?.cpuSeconds ?? 0) * 1000) / inWindow;
      const postgresMs = ((postgres?.cpuSeconds ?? 0) * 1000) / inWindow;
      figures.cpuMsPerSaga = {
        node: round(nodeMs),
        postgres: round(postgresMs),
        sum: round(nodeMs + postgresMs),
      };
    }
    log(
      `  intake ${figures.intake.acceptedPerSecond}/s; sagas completed ${figures.sustainedSagasPerSecond}/s; peak RSS ${figures.peakRssMB} MB`,
    );
  } catch (error) {
    figures.error = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`  embedded run failed: ${String(error).split('\n')[0]}`);
  } finally {
    await bench.stopEmbedded();
  }
  return figures;
}

/** --nats-cluster: n nats-servers of the run's own in one JetStream cluster (C1's NatsCluster). */
async function startNatsCluster(
  dir: string,
  nodes: number,
  startTimeoutMs: number,
): Promise<NatsCluster> {
  const ports = [];
  for (let i = 0; i < nodes; i++)
    ports.push({ client: await freePort(), cluster: await freePort(), monitor: await freePort() });
  const cluster = new NatsCluster({ dir, nodes: ports, deadAdvertisePort: await freePort() });
  await cluster.start(startTimeoutMs);
  return cluster;
}

function gitRaw(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' });
  } catch {
    return '';
  }
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof BenchUsageError)) throw error;
    process.stderr.write(`${error.message}`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(usage);
    return;
  }
  let config = parsed.config;
  const natsStore =
    config.ownNats || config.natsCluster
      ? mkdtempSync(join(tmpdir(), 'orderly-bench-nats-'))
      : undefined;
  const ownNats =
    natsStore && config.ownNats
      ? await OwnNatsServer.start(natsStore, config.startTimeoutMs)
      : undefined;
  const natsCluster =
    natsStore && config.natsCluster
      ? await startNatsCluster(natsStore, config.natsCluster, config.startTimeoutMs)
      : undefined;
  // The bench's own JetStream clients (counters, dead letters, cleanup) need one node; the services all.
  if (ownNats) config = { ...config, natsUrl: ownNats.url };
  if (natsCluster) config = { ...config, natsUrl: natsCluster.urls[0] ?? config.natsUrl };
  const bench = new Bench(config);
  if (ownNats?.pid) bench.tracker.setNatsPids([ownNats.pid]);
  if (natsCluster) {
    bench.natsServers = natsCluster.urls.join(',');
    bench.tracker.setNatsPids(
      natsCluster.nodes.map((n) => n.pid).filter((pid): pid is number => pid !== undefined),
    );
  }
  const stopOwnNats = () => {
    ownNats?.kill();
    for (const node of natsCluster?.nodes ?? []) if (node.pid) process.kill(node.pid, 'SIGKILL');
    if (natsStore) rmSync(natsStore, { recursive: true, force: true });
  };
  const onSignal = () => {
    bench.killChildren();
    stopOwnNats();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', () => {
    bench.killChildren();
    stopOwnNats();
  });
  const loadAverage = () => loadavg().map((v) => Math.round(v * 100) / 100);
  const loadAverageAtStart = loadAverage();
  const commitFull = git(['rev-parse', 'HEAD']);
  const dirtyFiles = gitRaw(['status', '--porcelain', '--untracked-files=all'])
    .split('\n')
    .filter((line) => line.length > 3)
    .map((line) => line.slice(3));
  const dirty = dirtyFiles.length > 0;
  const report: {
    -readonly [K in keyof Omit<BenchReport, 'targets' | 'meta'>]: BenchReport[K];
  } = {
    ceilings: {},
    latency: [],
    notes: bench.notes,
  };
  const services = config.target ? [] : discoverServices();
  log(`profile ${config.profile}; work dir ${bench.workDir}`);

  try {
    if (wants(config, 'ceilings')) {
      log('ceiling 1/2: node:http hello world');
      report.ceilings.nodeHttp = await bench.ceiling(
        'hello.ts',
        'node:http',
        'Ceiling: node:http hello world',
      );
      log(`  ${report.ceilings.nodeHttp.acceptedPerSecond}/s`);
      log('ceiling 2/2: Fastify JSON-schema validation only');
      report.ceilings.fastify = await bench.ceiling(
        'fastify-validate.ts',
        'fastify',
        'Ceiling: Fastify validate-only',
      );
      log(`  ${report.ceilings.fastify.acceptedPerSecond}/s`);
    }
    if (wants(config, 'baseline')) {
      log('baseline: Fastify + one transaction per order');
      report.baseline = await bench.baseline();
      log(`  ${report.baseline.acceptedPerSecond}/s`);
    }

    const needsSystem = (['idle', 'e2e', 'latency', 'intake', 'half', 'invariants'] as const).some(
      (p) => wants(config, p),
    );
    if (needsSystem) {
      if (config.target) await targetModeSetup(bench);
      else {
        log(
          `starting the distributed system (${services.join(', ')}${config.replicas > 1 ? `, ${config.replicas} replicas each` : ''}), trace sampling ${config.productionSamplingRatio} as in config/prod.yaml`,
        );
        await bench.startSystem(config.nodeFlags, config.workers, config.cpuProfile);
        if (wants(config, 'intake') || wants(config, 'e2e')) {
          bench.statementCounting = await prepareStatementCounting(config.postgresUrl);
          if (!bench.statementCounting.ok)
            log(`  statements per saga not measured: ${bench.statementCounting.reason}`);
        }
      }
      if (config.workers !== undefined && !bench.workersSupported) {
        bench.notes.push(`--workers ${config.workers} ignored: no workers.count setting exists`);
      }
      const url = bench.gatewayOrdersUrl();
      const labels = bench.serviceLabels();
      // warm the path (JIT, pools, connections) before anything is measured
      await bench.load(
        bench.job(
          url,
          'closed',
          { warmupMs: 0, durationMs: config.ceiling.warmupMs },
          { connections: Math.min(50, config.connections), keyTag: 'warm' },
        ),
      );
      await bench.drain();

      if (wants(config, 'idle') && !config.target) {
        log(`idle: ${config.idleMs / 1000} s with no load`);
        const start = bench.tracker.snapshot(true);
        await sleep(config.idleMs);
        const resources: PhaseResources = bench.tracker.figures(start, bench.tracker.snapshot());
        const servicesCpu = resources.processes
          .filter((p) => labels.includes(p.label))
          .reduce((a, p) => a + p.cpuPercentOfCore, 0);
        report.idle = {
          resources,
          servicesCpuPercentOfCore: Math.round(servicesCpu * 10) / 10,
          wholeSystem: wholeSystemIdle(resources, labels),
        };
        log(
          `  services use ${report.idle.servicesCpuPercentOfCore} % of a core; the whole system ${report.idle.wholeSystem?.percentOfCore} %`,
        );
      }

      if (wants(config, 'e2e')) {
        log(`end-to-end at a fixed ${config.e2eRate} orders/s`);
        const system = bench.system;
        const measured = await bench.load(
          bench.job(url, 'open', config.e2e, { rate: config.e2eRate, keyTag: 'e2e' }),
          system ? bench.counterHooks(system) : undefined,
        );
        const drain = await bench.drain();
        const db = bench.sagaDatabases();
        if (db && drain) {
          const stats = await sagaStats(
            db,
            measured.windowStartMs,
            measured.windowEndMs,
            Date.now(),
          );
          const inWindow = await completionsBetween(
            db,
            measured.windowStartMs,
            measured.windowEndMs,
          );
          report.e2eFixed = {
            rate: config.e2eRate,
            http: httpFigures(`POST /v1/orders at ${config.e2eRate}/s`, measured, labels),
            sagas: sagaFigures(stats),
            drain,
            ...(system
              ? {
                  cost: sagaCost(
                    measured.resources,
                    labels,
                    inWindow,
                    (measured.windowEndMs - measured.windowStartMs) / 1000,
                    measured.edges,
                    bench.statementCounting,
                    system,
                  ),
                }
              : {}),
          };
          log(
            `  placement→confirmation p50 ${report.e2eFixed.sagas.toConfirmedMs.p50} ms, p99 ${report.e2eFixed.sagas.toConfirmedMs.p99} ms`,
          );
        }
      }

      if (wants(config, 'latency')) {
        for (const rate of config.latencyRates) {
          log(`latency at a fixed ${rate} orders/s`);
          const measured = await bench.load(
            bench.job(url, 'open', config.latency, { rate, keyTag: `lat${rate}` }),
          );
          const http = httpFigures(`POST /v1/orders at ${rate}/s`, measured, labels);
          log(
            `  p50 ${http.latencyMs.p50} ms, p99 ${http.latencyMs.p99} ms, p99.9 ${http.latencyMs.p999} ms (failures included); accepted ${http.statuses['202'] ?? 0}/${http.sent}`,
          );
          const drain = await bench.drain();
          const db = bench.sagaDatabases();
          const sagas = db
            ? sagaFigures(
                await sagaStats(db, measured.windowStartMs, measured.windowEndMs, Date.now()),
              )
            : undefined;
          report.latency.push({ http, ...(sagas ? { sagas } : {}), ...(drain ? { drain } : {}) });
        }
      }

      if (wants(config, 'intake')) {
        log(
          `intake and end-to-end at saturation: ${config.connections} connections for ${config.saturation.durationMs / 1000} s`,
        );
        const system = bench.system;
        const hooks = system ? bench.counterHooks(system) : undefined;
        const measured = await bench.load(
          bench.job(url, 'closed', config.saturation, { keyTag: 'intake' }),
          hooks,
        );
        bench.profileWindow = { fromMs: measured.windowStartMs, toMs: measured.windowEndMs };
        report.intake = httpFigures(
          `Orderly intake: POST /v1/orders, ${config.connections} connections`,
          measured,
          labels,
        );
        log(
          `  intake ${report.intake.acceptedPerSecond}/s, p99 ${report.intake.latencyMs.p99} ms (failures included)`,
        );
        // --target: the target's processes are not ours to read
        const servicesPeakRssMB =
          labels.length > 0
            ? Math.round(
                report.intake.resources.processes
                  .filter((p) => labels.includes(p.label))
                  .reduce((a, p) => a + (p.peakRssMB ?? 0), 0),
              )
            : null;
        const db = bench.sagaDatabases();
        if (db) {
          const windowSeconds = (measured.windowEndMs - measured.windowStartMs) / 1000;
          const inWindow = await completionsBetween(
            db,
            measured.windowStartMs,
            measured.windowEndMs,
          );
          const drainStart = Date.now();
          const drain = await bench.drain();
          const drained = await completionsBetween(db, measured.windowEndMs, Date.now());
          const stats = await sagaStats(
            db,
            measured.windowStartMs,
            measured.windowEndMs,
            Date.now(),
          );
          const sustained = Math.round(inWindow / windowSeconds);
          const drainSeconds = (Date.now() - measured.windowEndMs) / 1000;
          report.saturation = {
            sustainedSagasPerSecond: sustained,
            windowSeconds: Math.round(windowSeconds),
            completionsPerSecond: stats.completionsPerSecond,
            drain: drain ?? {
              drained: false,
              seconds: (Date.now() - drainStart) / 1000,
              left: { open: -1, unnotified: -1 },
            },
            drainSagasPerSecond:
              drained > 0 && drainSeconds > 0 ? Math.round(drained / drainSeconds) : null,
            sagas: sagaFigures(stats),
            servicesPeakRssMB,
            ...(system
              ? {
                  cost: sagaCost(
                    measured.resources,
                    labels,
                    inWindow,
                    windowSeconds,
                    measured.edges,
                    bench.statementCounting,
                    system,
                  ),
                }
              : {}),
          };
          const cost = report.saturation.cost;
          log(
            `  sagas completed ${sustained}/s during the window; drain ${report.saturation.drain.seconds} s`,
          );
          if (cost) {
            const said = (v: object, figure: string) =>
              'notMeasured' in v ? `not measured (${String(v.notMeasured).slice(0, 80)})` : figure;
            log(
              `  per completed saga: CPU ${said(cost.cpu, 'sumMsPerSaga' in cost.cpu ? `${cost.cpu.sumMsPerSaga} ms` : '')}, statements ${said(cost.statements, 'perSaga' in cost.statements ? String(cost.statements.perSaga) : '')}, publishes/deliveries ${said(cost.bus, 'publishesPerSaga' in cost.bus ? `${cost.bus.publishesPerSaga}/${cost.bus.deliveriesPerSaga}` : '')}`,
            );
          }
        } else {
          bench.notes.push(
            'completed sagas/s, CPU and statements per saga need the order and notification databases: --order-db-url and --notification-db-url with --target',
          );
        }
      }

      if (wants(config, 'half')) {
        const basis = report.saturation
          ? {
              rate: report.saturation.sustainedSagasPerSecond / 2,
              text: `half of the ${report.saturation.sustainedSagasPerSecond} completed sagas/s measured at saturation`,
            }
          : report.intake
            ? {
                rate: report.intake.acceptedPerSecond / 2,
                text: `half of the ${report.intake.acceptedPerSecond} accepted orders/s at saturation (completed sagas were not measured: no order/notification databases)`,
              }
            : undefined;
        if (!basis) {
          bench.notes.push(
            'the half-saturation part needs the intake part (saturation) first: not run',
          );
        } else if (basis.rate < 1) {
          bench.notes.push(`the half-saturation part did not run: ${basis.text} is below 1/s`);
        } else {
          const rate = Math.max(1, Math.round(basis.rate));
          log(`half of saturation: open loop at ${rate} orders/s (${basis.text})`);
          const measured = await bench.load(
            bench.job(url, 'open', config.half, { rate, keyTag: 'half' }),
          );
          const http = httpFigures(
            `POST /v1/orders at ${rate}/s (half of saturation)`,
            measured,
            labels,
          );
          const drain = await bench.drain();
          const db = bench.sagaDatabases();
          const sagas = db
            ? sagaFigures(
                await sagaStats(db, measured.windowStartMs, measured.windowEndMs, Date.now()),
              )
            : undefined;
          const half: HalfSaturation = {
            rate,
            basis: basis.text,
            http,
            ...(sagas ? { sagas } : {}),
            ...(drain ? { drain } : {}),
          };
          report.half = half;
          log(
            `  intake p99 ${http.latencyMs.p99} ms, ${http.failures?.total ?? 0} failed (${http.failures?.shed ?? 0} shed); placement→terminal p99 ${sagas?.toTerminalMs?.p99 ?? 'n/a'} ms`,
          );
        }
      }

      if (wants(config, 'invariants') && bench.system) {
        log('checking invariants');
        const system = bench.system;
        // Orders are terminal once drained, but the events that settle them elsewhere (reservations,
        // refunds, outboxes) may still be in flight: check until everything holds or time runs out.
        const settleBy = Date.now() + config.drainMaxMs;
        for (;;) {
          report.invariants = await checkInvariants(
            (service, text, values) => system.sql(service, text, values),
            {
              stockAtStart: bench.stockAtStart,
              acceptedAtLeast: bench.accepted,
              // The system's own dead-letter stream (ORDERLY_BUS__DEAD_LETTER_STREAM), read directly; nothing is injected.
              deadLetters: await readDeadLetterStream(config.natsUrl, `BENCH_${system.id}_DL`),
              // services.notification.outputFile under the system's ORDERLY_DATA_DIR.
              notificationOutputFile: join(system.dataDir, 'notifications.jsonl'),
              waivers: {
                'no-phantom-order':
                  'the load generator does not keep the idempotency keys it sends; the order count is checked against the accepted count',
              },
            },
          );
          if (report.invariants.ok || Date.now() > settleBy) break;
          await sleep(1000);
        }
        log(
          `  ${report.invariants.ok ? 'hold' : `BROKEN: ${report.invariants.problems.join('; ')}`}`,
        );
      }
      await bench.stopSystem();
    }
    if (config.cpuProfile.length > 0) {
      report.profiles = [];
      for (const service of config.cpuProfile) {
        const dir = join(bench.profileDir, service);
        // main threads only (thread id 0), not tsx's loader thread
        const files = existsSync(dir)
          ? readdirSync(dir).filter((f) => /\.0\.\d+\.cpuprofile$/.test(f))
          : [];
        const exitedAtMs = bench.exitedAt.get(service);
        const window =
          bench.profileWindow && exitedAtMs ? { ...bench.profileWindow, exitedAtMs } : undefined;
        for (const f of files)
          report.profiles.push(summarizeProfile(join(dir, f), service, window));
      }
      if (report.profiles.length === 0)
        bench.notes.push('--cpu-prof: no profile was written (did the services stop gracefully?)');
    }

    if (wants(config, 'telemetry') && !config.target) {
      const rate = report.half?.rate ?? Math.max(1, Math.round(config.e2eRate / 2));
      const rows: TelemetryRow[] = [];
      for (const ratio of [config.productionSamplingRatio, 1]) {
        log(`telemetry: sampling ${ratio} on a fresh system, ${rate} orders/s offered`);
        const row = await telemetryRow(bench, ratio, rate);
        log(
          row.error
            ? `  failed: ${row.error.split('\n')[0]}`
            : `  ${row.systemMsPerSaga} ms CPU per completed saga (services ${row.servicesMsPerSaga} ms)`,
        );
        rows.push(row);
      }
      report.telemetry = {
        rows,
        note: `Each row a fresh distributed system with telemetry.samplingRatio set, the same open-loop rate (${report.half ? 'the half-saturation rate of this run' : 'half of --e2e-rate'}), ${config.telemetry.window.durationMs / 1000} s measured; no exporter (otlpEndpoint empty), so this is the cost of making spans, not of shipping them.`,
      };
    } else if (!config.target && !config.runTelemetry && !config.only) {
      report.telemetry = {
        rows: [],
        note: `not measured in a ${config.profile} run: the cost of 100 % sampling (two fresh systems, sampling ${config.productionSamplingRatio} vs 1.0 at one offered rate) runs in the full run, \`npm run bench\`, or with \`--only telemetry\`.`,
      };
    }

    if (wants(config, 'embedded') && !config.target) {
      log(
        `embedded: npm start's system ${config.runFrom === 'bundles' ? 'from a bundle' : 'through tsx'}, its own ports and data directory`,
      );
      report.embedded = await embeddedPhase(bench);
    }

    if (wants(config, 'matrix') && !config.target) {
      const rows: MatrixRow[] = [];
      const notes: string[] = [];
      for (const flags of config.matrixNodeFlags) {
        const variant = flags || 'default heap';
        log(`matrix: ${variant}`);
        rows.push(await matrixRow(bench, variant, flags ? flags.split(' ') : [], null));
      }
      if (bench.workersSupported) {
        for (const workers of config.matrixWorkers) {
          log(`matrix: ${workers} worker(s) per hot service`);
          rows.push(await matrixRow(bench, `${workers} worker(s)`, [], workers));
        }
      } else {
        notes.push(
          'worker-count rows (item 3) are missing: the services have no services.<svc>.workers setting yet; the bench passes --workers as ORDERLY_SERVICES__<SVC>__WORKERS once it exists.',
        );
      }
      report.matrix = { rows, notes };
    }
  } finally {
    await bench.stopSystem().catch(() => undefined);
    await bench.stopEmbedded().catch(() => undefined);
    bench.tracker.stop();
  }

  const postgres = await postgresFacts(config.postgresUrl).catch(() => ({}));
  const full: BenchReport = {
    ...report,
    meta: {
      startedAt: new Date(bench.startedAt).toISOString(),
      durationSeconds: Math.round((Date.now() - bench.startedAt) / 1000),
      commit: commitFull.slice(0, 12) || 'unknown',
      dirty,
      dirtyFiles,
      profile: config.profile,
      args: argv,
      node: process.version,
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '',
      memoryGB: Math.round(totalmem() / 2 ** 30),
      loadAverageAtStart,
      loadAverageAtEnd: loadAverage(),
      samplingRatio: config.target
        ? "the target's own"
        : `${config.productionSamplingRatio} (telemetry.samplingRatio of config/prod.yaml)`,
      postgres,
      target: config.target ?? 'distributed system started by the bench',
      auth: bench.auth.note,
      workers:
        config.workers === undefined
          ? 'default'
          : bench.workersSupported
            ? String(config.workers)
            : `${config.workers} requested, not supported yet`,
      nodeFlags: config.nodeFlags.join(' ') || '(none)',
      replicas: config.target ? null : config.replicas,
      nats: ownNats
        ? `the run's own nats-server (${ownNats.url})`
        : natsCluster
          ? `the run's own ${natsCluster.nodes.length}-node JetStream cluster (${bench.natsServers ?? ''}), streams replicated ${natsCluster.nodes.length} times`
          : config.natsUrl,
      runFrom: config.target ? 'target' : config.runFrom,
      logLevel: config.logLevel ?? 'from configuration',
      services,
    },
    targets: [],
  };
  (full as { targets: TargetRow[] }).targets = targets(full);
  const outDir =
    config.outDir ??
    (config.profile === 'smoke'
      ? mkdtempSync(join(tmpdir(), 'orderly-bench-smoke-'))
      : join(repoRoot, 'bench/results'));
  const written = writeReport(full, outDir);
  if (config.cpuProfile.length > 0) log(`CPU profiles kept in ${bench.profileDir}`);
  else rmSync(bench.workDir, { recursive: true, force: true });
  log(`wrote ${written.json}\n      ${written.markdown}`);
  if (config.profile === 'smoke') {
    const problems = checkWrittenReport(
      written,
      config.target ? [] : phaseNames.filter((part) => wants(config, part)),
    );
    if (problems.length > 0)
      throw new Error(`the smoke run's report is not well-formed:\n  ${problems.join('\n  ')}`);
    log('smoke: the report is complete and well-formed');
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(
      `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
    process.exit(1);
  },
);
