import { loadConfigDocument } from '@orderly/platform';

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
    idleMs: 10 * s,
    e2eRate: 200,
    e2e: { warmupMs: 5 * s, durationMs: 60 * s },
    latencyRates: [500, 1000],
    latency: { warmupMs: 5 * s, durationMs: 30 * s },
    openLoopMaxConnections: 1000,
    saturation: { warmupMs: 10 * s, durationMs: 60 * s },
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
    skus: 64,
    stockPerSku: 10_000_000,
    users: 50,
  },
  quick: {
    connections: 500,
    ceiling: { warmupMs: 3 * s, durationMs: 10 * s },
    baseline: { warmupMs: 3 * s, durationMs: 10 * s },
    idleMs: 3 * s,
    e2eRate: 200,
    e2e: { warmupMs: 3 * s, durationMs: 20 * s },
    latencyRates: [500, 1000],
    latency: { warmupMs: 3 * s, durationMs: 15 * s },
    openLoopMaxConnections: 1000,
    saturation: { warmupMs: 5 * s, durationMs: 20 * s },
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
  'invariants',
  'matrix',
] as const;

export const usage = `npm run bench -- [flags]

  --quick                 shorter windows (about 4 minutes), no GC/worker matrix
  --smoke                 a 30-60 s run that only proves the pipeline works (CI); writes to a temp dir
  --only a,b              run only these parts: ${phaseNames.join(', ')}
  --skip a,b              skip these parts
  --matrix / --no-matrix  run (or not) the heap-flag and worker-count tables on fresh systems
  --duration <s>          measured window of the latency, end-to-end and intake parts
  --connections <n>       connections of the closed-loop parts (default 500)
  --e2e-rate <n>          offered rate of the fixed-rate end-to-end part (orders/s)
  --rates 500,1000        offered rates of the latency part (orders/s)
  --workers <n>           worker processes per hot service (gateway, order): workers.count.<svc>
  --node-flags "<flags>"  extra node flags for every service (e.g. --max-semi-space-size=64)
  --cpu-prof order,gateway  write V8 CPU profiles of these services and summarise their hot functions
  --target <gatewayUrl>   measure a running system instead of starting one
  --order-db-url <url> --notification-db-url <url>   with --target: databases for end-to-end figures
  --log-level <level>     services' log level (default: the configuration's)
  --from bundles|source   run the services from the production bundles (default; built first) or from TypeScript via tsx
  --out <dir>             where to write the report (default bench/results; --smoke: a temp dir)
`;

function parseRunFrom(value: string | undefined): 'bundles' | 'source' {
  if (value === undefined || value === 'bundles') return 'bundles';
  if (value === 'source') return 'source';
  throw new Error(`--from must be bundles or source, not ${value}`);
}

function flagValue(argv: readonly string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  if (i >= 0) return argv[i + 1];
  const prefixed = argv.find((a) => a.startsWith(`${name}=`));
  return prefixed?.slice(name.length + 1);
}

const list = (value: string | undefined) =>
  value
    ? value
        .split(',')
        .map((v) => v.trim())
        .filter(Boolean)
    : undefined;

export function parseBenchArgs(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>> = process.env,
): BenchConfig {
  const known = new Set(['--quick', '--smoke', '--matrix', '--no-matrix', '--help']);
  const withValue = new Set([
    '--only',
    '--skip',
    '--duration',
    '--connections',
    '--rates',
    '--workers',
    '--node-flags',
    '--cpu-prof',
    '--target',
    '--order-db-url',
    '--notification-db-url',
    '--log-level',
    '--out',
    '--from',
    '--e2e-rate',
  ]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    const name = arg.split('=')[0] ?? arg;
    if (known.has(arg)) continue;
    if (withValue.has(name)) {
      if (!arg.includes('=')) i++;
      continue;
    }
    throw new Error(`unknown flag ${arg}\n\n${usage}`);
  }
  const profile = argv.includes('--smoke') ? 'smoke' : argv.includes('--quick') ? 'quick' : 'full';
  const p = profiles[profile];
  const duration = flagValue(argv, '--duration');
  const durationMs = duration ? Number(duration) * s : undefined;
  const resize = (w: Window): Window => (durationMs ? { warmupMs: w.warmupMs, durationMs } : w);
  const only = list(flagValue(argv, '--only'));
  const skip = list(flagValue(argv, '--skip')) ?? [];
  for (const name of [...(only ?? []), ...skip]) {
    if (!(phaseNames as readonly string[]).includes(name))
      throw new Error(`unknown part ${name}; parts: ${phaseNames.join(', ')}`);
  }
  const document = loadConfigDocument({ argv: [], env }).document as {
    postgres: { url: string; poolSize: number };
    bus: { natsServers: string };
    services: { gateway: { maxLinesPerOrder: number; maxQuantityPerLine: number } };
  };
  const workers = flagValue(argv, '--workers');
  const nodeFlags = flagValue(argv, '--node-flags');
  const runMatrix = argv.includes('--matrix')
    ? true
    : argv.includes('--no-matrix')
      ? false
      : p.runMatrix;
  return {
    profile,
    connections: Number(flagValue(argv, '--connections') ?? p.connections),
    ceiling: p.ceiling,
    baseline: p.baseline,
    idleMs: p.idleMs,
    e2eRate: Number(flagValue(argv, '--e2e-rate') ?? p.e2eRate),
    e2e: resize(p.e2e),
    latencyRates: list(flagValue(argv, '--rates'))?.map(Number) ?? p.latencyRates,
    latency: resize(p.latency),
    openLoopMaxConnections: p.openLoopMaxConnections,
    saturation: resize(p.saturation),
    drainMaxMs: p.drainMaxMs,
    requestTimeoutMs: p.requestTimeoutMs,
    matrixNodeFlags: p.matrixNodeFlags,
    matrixWorkers: p.matrixWorkers,
    matrix: p.matrix,
    runMatrix,
    skus: p.skus,
    stockPerSku: p.stockPerSku,
    users: p.users,
    baselinePoolSize: Number(document.postgres.poolSize),
    startTimeoutMs: 90 * s,
    sampleEveryMs: 1 * s,
    only,
    skip,
    target: flagValue(argv, '--target'),
    targetOrderDbUrl: flagValue(argv, '--order-db-url'),
    targetNotificationDbUrl: flagValue(argv, '--notification-db-url'),
    workers: workers ? Number(workers) : undefined,
    nodeFlags: nodeFlags ? nodeFlags.split(/\s+/).filter(Boolean) : [],
    cpuProfile: list(flagValue(argv, '--cpu-prof')) ?? [],
    runFrom: parseRunFrom(flagValue(argv, '--from')),
    outDir: flagValue(argv, '--out'),
    logLevel: flagValue(argv, '--log-level'),
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
  };
}

export function wants(config: BenchConfig, part: (typeof phaseNames)[number]): boolean {
  if (config.skip.includes(part)) return false;
  if (part === 'matrix') return config.only ? config.only.includes(part) : config.runMatrix;
  return config.only ? config.only.includes(part) : true;
}
