import { join } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadConfigDocument } from '@orderly/platform';

/** Production's configuration layer: its telemetry sampling ratio is the one the headline system runs with. */
const productionConfigFile = join(new URL('../../', import.meta.url).pathname, 'config/prod.yaml');

/**
 * The bench's parameters: three profiles (full, --quick, --smoke) and flags that override them.
 * Durations in ms. Addresses come from Orderly's own configuration (config/default.yaml and
 * ORDERLY_* variables), like every service.
 */
export interface Window {
  readonly warmupMs: number;
  readonly durationMs: number;
}

export interface BenchConfig {
  readonly profile: 'full' | 'quick' | 'smoke';
  readonly connections: number;
  readonly ceiling: Window;
  readonly baseline: Window;
  readonly idleMs: number;
  /** End-to-end at a fixed offered rate. */
  readonly e2eRate: number;
  readonly e2e: Window;
  /** Latency at fixed offered rates. */
  readonly latencyRates: readonly number[];
  readonly latency: Window;
  /** Most connections an open-loop run may open (beyond that, requests queue in the generator). */
  readonly openLoopMaxConnections: number;
  /** Intake and end-to-end at saturation: `connections` closed loops. */
  readonly saturation: Window;
  /** Open loop at half of the completed sagas/s measured at saturation. */
  readonly half: Window;
  readonly drainMaxMs: number;
  readonly requestTimeoutMs: number;
  /** Heap-flag variants for the GC table (item 4); each runs on a fresh system. */
  readonly matrixNodeFlags: readonly string[];
  readonly matrixWorkers: readonly number[];
  readonly matrix: {
    readonly latencyRate: number;
    readonly latency: Window;
    readonly intake: Window;
  };
  readonly runMatrix: boolean;
  /** Sampling 0.1 (production) vs 1.0 on fresh systems at one offered rate. */
  readonly runTelemetry: boolean;
  readonly telemetry: { readonly window: Window };
  /** `npm start`'s system (one process, in-memory bus, embedded PostgreSQL). */
  readonly embedded: { readonly idleMs: number; readonly saturation: Window };
  /** telemetry.samplingRatio of config/prod.yaml: the headline distributed system runs with it. */
  readonly productionSamplingRatio: number;
  readonly skus: number;
  readonly stockPerSku: number;
  readonly users: number;
  readonly baselinePoolSize: number;
  readonly startTimeoutMs: number;
  readonly sampleEveryMs: number;
  readonly only: readonly string[] | undefined;
  readonly skip: readonly string[];
  readonly target: string | undefined;
  readonly targetOrderDbUrl: string | undefined;
  readonly targetNotificationDbUrl: string | undefined;
  readonly workers: number | undefined;
  /** Processes per service of the distributed system (replicas sharing its database and consumers). */
  readonly replicas: number;
  /** Run a NATS server of the bench's own instead of the configured one (its CPU is then this run's only). */
  readonly ownNats: boolean;
  /** Run a JetStream cluster of this many nodes of the bench's own, streams replicated on all of them. */
  readonly natsCluster: number | undefined;
  readonly nodeFlags: readonly string[];
  readonly cpuProfile: readonly string[];
  /**
   * How the services run: `bundles` (default) is what production runs — the esbuild bundles of
   * `npm run build` on plain node; `source` runs services/<svc>/src/main.ts through tsx, whose
   * source-map support makes every formatted stack trace several times dearer.
   */
  readonly runFrom: 'bundles' | 'source';
  readonly outDir: string | undefined;
  readonly logLevel: string | undefined;
  readonly postgresUrl: string;
  readonly natsUrl: string;
  readonly gatewayLimits: {
    readonly maxLinesPerOrder: number;
    readonly maxQuantityPerLine: number;
  };
}

const s = 1000;
const profiles = {
  full: {
    connections: 500,
    ceiling: { warmupMs: 5 * s, durationMs: 20 * s },
    baseline: { warmupMs: 5 * s, durationMs: 20 * s },
    idleMs: 30 * s,
    e2eRate: 200,
    e2e: { warmupMs: 5 * s, durationMs: 60 * s },
    latencyRates: [500, 1000],
    latency: { warmupMs: 5 * s, durationMs: 30 * s },
    openLoopMaxConnections: 1000,
    saturation: { warmupMs: 10 * s, durationMs: 60 * s },
    half: { warmupMs: 5 * s, durationMs: 30 * s },
    drainMaxMs: 180 * s,
    requestTimeoutMs: 30 * s,
    matrixNodeFlags: ['', '--max-semi-space-size=16', '--max-semi-space-size=64'],
    matrixWorkers: [1, 2],
    // A rate the system sustains: the open-loop run then measures latency, not queueing, and leaves no
    // backlog behind to starve the intake run that follows it on the same system.
    matrix: {
      latencyRate: 150,
      latency: { warmupMs: 5 * s, durationMs: 15 * s },
      intake: { warmupMs: 5 * s, durationMs: 20 * s },
    },
    runMatrix: true,
    runTelemetry: true,
    telemetry: { window: { warmupMs: 5 * s, durationMs: 30 * s } },
    embedded: { idleMs: 30 * s, saturation: { warmupMs: 10 * s, durationMs: 60 * s } },
    skus: 64,
    stockPerSku: 10_000_000,
    users: 50,
  },
  quick: {
    connections: 500,
    ceiling: { warmupMs: 3 * s, durationMs: 10 * s },
    baseline: { warmupMs: 3 * s, durationMs: 10 * s },
    idleMs: 15 * s,
    e2eRate: 200,
    e2e: { warmupMs: 3 * s, durationMs: 20 * s },
    latencyRates: [500, 1000],
    latency: { warmupMs: 3 * s, durationMs: 15 * s },
    openLoopMaxConnections: 1000,
    saturation: { warmupMs: 5 * s, durationMs: 20 * s },
    half: { warmupMs: 3 * s, durationMs: 15 * s },
    drainMaxMs: 60 * s,
    requestTimeoutMs: 30 * s,
    matrixNodeFlags: ['', '--max-semi-space-size=64'],
    matrixWorkers: [1, 2],
    matrix: {
      latencyRate: 150,
      latency: { warmupMs: 3 * s, durationMs: 10 * s },
      intake: { warmupMs: 3 * s, durationMs: 10 * s },
    },
    runMatrix: false,
    runTelemetry: false,
    telemetry: { window: { warmupMs: 3 * s, durationMs: 15 * s } },
    embedded: { idleMs: 15 * s, saturation: { warmupMs: 5 * s, durationMs: 20 * s } },
    skus: 64,
    stockPerSku: 10_000_000,
    users: 20,
  },
  smoke: {
    connections: 32,
    ceiling: { warmupMs: 1 * s, durationMs: 2 * s },
    baseline: { warmupMs: 1 * s, durationMs: 2 * s },
    idleMs: 2 * s,
    e2eRate: 50,
    e2e: { warmupMs: 1 * s, durationMs: 3 * s },
    latencyRates: [100],
    latency: { warmupMs: 1 * s, durationMs: 3 * s },
    openLoopMaxConnections: 100,
    saturation: { warmupMs: 1 * s, durationMs: 3 * s },
    half: { warmupMs: 1 * s, durationMs: 3 * s },
    drainMaxMs: 45 * s,
    requestTimeoutMs: 20 * s,
    matrixNodeFlags: [''],
    matrixWorkers: [1],
    matrix: {
      latencyRate: 100,
      latency: { warmupMs: 1 * s, durationMs: 3 * s },
      intake: { warmupMs: 1 * s, durationMs: 3 * s },
    },
    runMatrix: false,
    runTelemetry: false,
    telemetry: { window: { warmupMs: 1 * s, durationMs: 3 * s } },
    embedded: { idleMs: 2 * s, saturation: { warmupMs: 1 * s, durationMs: 3 * s } },
    skus: 8,
    stockPerSku: 1_000_000,
    users: 4,
  },
} as const;

/**
 * Settings the bench changes in the system under test, each only if the configuration has it:
 * one load-generator address and a few users would otherwise be throttled by the gateway's rate
 * limits (which still run, with room to spare), and access tokens must outlive a full run.
 */
export const benchSettings: Readonly<Record<string, string>> = {
  'services.gateway.rateLimits.perAddress.burst': '1000000000',
  'services.gateway.rateLimits.perAddress.perMinute': '1000000000',
  'services.gateway.rateLimits.perUser.burst': '1000000000',
  'services.gateway.rateLimits.perUser.perMinute': '1000000000',
  'services.gateway.rateLimits.login.burst': '1000000000',
  'services.gateway.rateLimits.login.perMinute': '1000000000',
  'services.identity.accessTokenTtlMs': String(4 * 3600 * s),
};

export const phaseNames = [
  'ceilings',
  'baseline',
  'idle',
  'e2e',
  'latency',
  'intake',
  'half',
  'invariants',
  'telemetry',
  'embedded',
  'matrix',
] as const;
export type PhaseName = (typeof phaseNames)[number];

export const usage = `npm run bench -- [flags]

  --quick                 shorter windows (about 6 minutes), no GC/worker matrix, no 100 % sampling phase
  --smoke                 a 1-2 minute run that only proves the pipeline works (CI); writes to a temp dir
  --only a,b              run only these parts: ${phaseNames.join(', ')}
  --skip a,b              skip these parts
  --matrix / --no-matrix  run (or not) the heap-flag and worker-count tables on fresh systems
  --duration <s>          measured window of the latency, end-to-end, intake and half-saturation parts
  --connections <n>       connections of the closed-loop parts (default 500)
  --e2e-rate <n>          offered rate of the fixed-rate end-to-end part (orders/s)
  --rates 500,1000        offered rates of the latency part (orders/s)
  --workers <n>           worker processes per hot service (gateway, order): workers.count.<svc>
  --replicas <n>          processes per service (default 1): replicas sharing its database, stream and
                          durable consumers, each on its own port; the load spreads over the gateways
  --own-nats              start a nats-server of the run's own (free port, temporary store) instead of
                          using bus.natsServers, so the NATS row counts this run's messages only
  --nats-cluster <n>      start a JetStream cluster of n nats-servers of the run's own instead, the
                          services' streams replicated n times (bus.streamReplicas); NATS = all n nodes
  --node-flags "<flags>"  extra node flags for every service (e.g. --max-semi-space-size=64)
  --cpu-prof order,gateway  write V8 CPU profiles of these services and summarise their hot functions
  --target <gatewayUrl>   measure a running system instead of starting one (customers register and
                          log in through its /v1/auth/*; per-process CPU, statements, bus counters,
                          idle, embedded and telemetry parts cannot be measured there)
  --order-db-url <url> --notification-db-url <url>   with --target: databases for end-to-end figures
  --log-level <level>     services' log level (default: the configuration's)
  --from bundles|source   run the services from the production bundles (default; built first) or from TypeScript via tsx
  --out <dir>             where to write the report (default bench/results; --smoke: a temp dir)
  --help                  print this and exit
`;

const options = {
  quick: { type: 'boolean' },
  smoke: { type: 'boolean' },
  matrix: { type: 'boolean' },
  'no-matrix': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  only: { type: 'string' },
  skip: { type: 'string' },
  duration: { type: 'string' },
  connections: { type: 'string' },
  'e2e-rate': { type: 'string' },
  rates: { type: 'string' },
  workers: { type: 'string' },
  replicas: { type: 'string' },
  'own-nats': { type: 'boolean' },
  'nats-cluster': { type: 'string' },
  'node-flags': { type: 'string' },
  'cpu-prof': { type: 'string' },
  target: { type: 'string' },
  'order-db-url': { type: 'string' },
  'notification-db-url': { type: 'string' },
  'log-level': { type: 'string' },
  from: { type: 'string' },
  out: { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** A usage error: the message, then the usage text. */
export class BenchUsageError extends Error {
  constructor(message: string) {
    super(`${message}\n\n${usage}`);
    this.name = 'BenchUsageError';
  }
}

function parseRunFrom(value: string | undefined): 'bundles' | 'source' {
  if (value === undefined || value === 'bundles') return 'bundles';
  if (value === 'source') return 'source';
  throw new BenchUsageError(`--from must be bundles or source, not ${value}`);
}

const list = (value: string | undefined) =>
  value
    ? value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
    : undefined;

/** A positive number (an integer when `integer`), or a usage error naming the flag. */
function positive(flag: string, value: string | undefined, integer = true): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!Number.isFinite(v) || v <= 0 || (integer && !Number.isInteger(v)))
    throw new BenchUsageError(
      `--${flag} must be a positive ${integer ? 'integer' : 'number'}, not ${JSON.stringify(value)}`,
    );
  return v;
}

function httpUrl(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new BenchUsageError(`--${flag} must be a URL, not ${JSON.stringify(value)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new BenchUsageError(`--${flag} must be an http(s) URL, not ${value}`);
  return value;
}

/**
 * `--node-flags --max-semi-space-size=64` (the documented form) is ambiguous to parseArgs, whose
 * strict mode refuses a value that starts with a dash unless it is written `--node-flags=…`.
 */
function joinDashValues(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const next = argv[i + 1];
    if (arg === '--node-flags' && next !== undefined && next.startsWith('-')) {
      out.push(`--node-flags=${next}`);
      i++;
    } else out.push(arg);
  }
  return out;
}

function strictValues(argv: readonly string[]) {
  try {
    return parseArgs({ args: joinDashValues(argv), options, strict: true, allowPositionals: false })
      .values;
  } catch (error) {
    throw new BenchUsageError(error instanceof Error ? error.message : String(error));
  }
}

export type ParsedCommandLine =
  { readonly help: true } | { readonly help: false; readonly config: BenchConfig };

/**
 * The command line, parsed strictly (node:util parseArgs): an unknown flag, a positional argument,
 * a missing or malformed value is a usage error; `--help` asks for the usage and nothing else.
 */
export function parseCommandLine(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): ParsedCommandLine {
  const values = strictValues(argv);
  if (values.help) return { help: true };
  if (values.quick && values.smoke)
    throw new BenchUsageError('--quick and --smoke exclude each other');
  if (values.matrix && values['no-matrix'])
    throw new BenchUsageError('--matrix and --no-matrix exclude each other');
  const profile = values.smoke ? 'smoke' : values.quick ? 'quick' : 'full';
  const p = profiles[profile];
  const durationMs = (positive('duration', values.duration, false) ?? 0) * s || undefined;
  const resize = (w: Window): Window => (durationMs ? { warmupMs: w.warmupMs, durationMs } : w);
  const only = list(values.only);
  const skip = list(values.skip) ?? [];
  for (const name of [...(only ?? []), ...skip]) {
    if (!(phaseNames as readonly string[]).includes(name))
      throw new BenchUsageError(`unknown part ${name}; parts: ${phaseNames.join(', ')}`);
  }
  const rates = list(values.rates)?.map((r) => positive('rates', r, false) ?? 0);
  const target = httpUrl('target', values.target);
  const orderDb = values['order-db-url'];
  const notificationDb = values['notification-db-url'];
  if ((orderDb || notificationDb) && !target)
    throw new BenchUsageError('--order-db-url and --notification-db-url only go with --target');
  if (Boolean(orderDb) !== Boolean(notificationDb))
    throw new BenchUsageError('--order-db-url and --notification-db-url go together');
  const cpuProfile = list(values['cpu-prof']) ?? [];
  const replicas = positive('replicas', values.replicas) ?? 1;
  if (target && replicas > 1)
    throw new BenchUsageError('--replicas needs the services the bench starts, not --target');
  const natsCluster = positive('nats-cluster', values['nats-cluster']);
  if (target && (values['own-nats'] || natsCluster))
    throw new BenchUsageError(
      '--own-nats and --nats-cluster need the services the bench starts, not --target',
    );
  if (values['own-nats'] && natsCluster)
    throw new BenchUsageError('--own-nats and --nats-cluster exclude each other');
  if (target && cpuProfile.length > 0)
    throw new BenchUsageError('--cpu-prof needs the services the bench starts, not --target');
  const document = loadConfigDocument({ argv: [], env }).document as {
    postgres: { url: string; poolSize: number };
    bus: { natsServers: string };
    services: { gateway: { maxLinesPerOrder: number; maxQuantityPerLine: number } };
  };
  const prod = loadConfigDocument({ argv: ['--config', productionConfigFile], env: {} })
    .document as { telemetry: { samplingRatio: number } };
  const nodeFlags = values['node-flags'];
  return {
    help: false,
    config: {
      profile,
      connections: positive('connections', values.connections) ?? p.connections,
      ceiling: p.ceiling,
      baseline: p.baseline,
      idleMs: p.idleMs,
      e2eRate: positive('e2e-rate', values['e2e-rate'], false) ?? p.e2eRate,
      e2e: resize(p.e2e),
      latencyRates: rates ?? p.latencyRates,
      latency: resize(p.latency),
      half: resize(p.half),
      openLoopMaxConnections: p.openLoopMaxConnections,
      saturation: resize(p.saturation),
      drainMaxMs: p.drainMaxMs,
      requestTimeoutMs: p.requestTimeoutMs,
      matrixNodeFlags: p.matrixNodeFlags,
      matrixWorkers: p.matrixWorkers,
      matrix: p.matrix,
      runMatrix: values.matrix ? true : values['no-matrix'] ? false : p.runMatrix,
      runTelemetry: p.runTelemetry,
      telemetry: p.telemetry,
      embedded: p.embedded,
      productionSamplingRatio: Number(prod.telemetry.samplingRatio),
      skus: p.skus,
      stockPerSku: p.stockPerSku,
      users: p.users,
      baselinePoolSize: Number(document.postgres.poolSize),
      startTimeoutMs: 90 * s,
      sampleEveryMs: 1 * s,
      only,
      skip,
      target,
      targetOrderDbUrl: orderDb,
      targetNotificationDbUrl: notificationDb,
      workers: positive('workers', values.workers),
      replicas,
      ownNats: values['own-nats'] ?? false,
      natsCluster,
      nodeFlags: nodeFlags ? nodeFlags.split(/\s+/).filter(Boolean) : [],
      cpuProfile,
      runFrom: parseRunFrom(values.from),
      outDir: values.out,
      logLevel: values['log-level'],
      // like the tests: ORDERLY_TEST_* name the shared test servers unless ORDERLY_* set them
      postgresUrl: env.ORDERLY_POSTGRES__URL
        ? document.postgres.url
        : (env.ORDERLY_TEST_POSTGRES_URL ?? document.postgres.url),
      natsUrl: env.ORDERLY_BUS__NATS_SERVERS
        ? document.bus.natsServers
        : (env.ORDERLY_TEST_NATS_URL ?? document.bus.natsServers),
      gatewayLimits: {
        maxLinesPerOrder: Number(document.services.gateway.maxLinesPerOrder),
        maxQuantityPerLine: Number(document.services.gateway.maxQuantityPerLine),
      },
    },
  };
}

export function wants(config: BenchConfig, part: PhaseName): boolean {
  if (config.skip.includes(part)) return false;
  if (config.only) return config.only.includes(part);
  if (part === 'matrix') return config.runMatrix;
  if (part === 'telemetry') return config.runTelemetry;
  return true;
}
