import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { build, type Plugin } from 'esbuild';
import { currentBuildMetadata } from '@orderly/build/build-metadata';
import { allProcesses, descendantsOf } from './proc.js';
import type { SagaDatabases } from './sagas.js';
import { defaultConfig, discoverServices, exited, freePort, hasPath } from './system.js';

/**
 * `npm start`'s system — tools/launcher/src/embedded.ts: every service in one process, the
 * in-memory bus, an embedded PostgreSQL — run as production runs the services: an esbuild bundle on
 * plain node. tools/build bundles the six services (dist/bundles/<svc>.cjs) but not the launcher,
 * so the bench bundles it here the same way (the repository's files it reads embedded under virtual
 * paths, build metadata injected, whitespace and syntax minified) into dist/bench/. ESM instead of
 * the services' CommonJS: the launcher awaits at top level.
 */
const virtualRoot = '/orderly-bundle/';

function sqlFiles(repoRoot: string, folder: string): string[] {
  try {
    if (!statSync(join(repoRoot, folder)).isDirectory()) return [];
  } catch {
    return [];
  }
  return readdirSync(join(repoRoot, folder))
    .filter((n) => n.endsWith('.sql'))
    .sort()
    .map((n) => `${folder}/${n}`);
}

/** Files the launcher and the services read beside their source: configuration and migrations. */
function embeddedFiles(repoRoot: string): Record<string, string> {
  const files: Record<string, string> = {};
  const paths = [
    'config/default.yaml',
    'config/embedded.yaml',
    ...sqlFiles(repoRoot, 'platform/src/db/migrations'),
    ...discoverServices().flatMap((s) =>
      sqlFiles(repoRoot, `services/${s}/src/data-access/migrations`),
    ),
  ];
  for (const path of paths)
    files[`${virtualRoot}${path}`] = readFileSync(join(repoRoot, path), 'utf8');
  return files;
}

/**
 * Each of our modules gets its own virtual `import.meta.url`, so the paths it computes match the
 * embedded files — except the embedded-PostgreSQL starter, which only resolves the npm package
 * (and must find it from the bundle's real place in the repository).
 */
function virtualImportMetaUrl(repoRoot: string): Plugin {
  return {
    name: 'orderly-bench-virtual-import-meta-url',
    setup(esbuild) {
      esbuild.onLoad({ filter: /\.ts$/ }, (args) => {
        const path = relative(repoRoot, args.path);
        if (path.startsWith('..') || path.includes('node_modules')) return undefined;
        if (path === 'tools/launcher/src/embedded-postgres.ts') return undefined;
        const source = readFileSync(args.path, 'utf8');
        const url = JSON.stringify(`file://${virtualRoot}${path}`);
        return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
      });
    },
  };
}

/** Bundles the embedded launcher into <repo>/dist/bench/orderly-embedded.mjs; returns its path. */
export async function buildEmbeddedBundle(repoRoot: string): Promise<string> {
  const outDir = join(repoRoot, 'dist/bench');
  mkdirSync(outDir, { recursive: true });
  const outfile = join(outDir, 'orderly-embedded.mjs');
  const result = await build({
    entryPoints: [join(repoRoot, 'tools/launcher/src/embedded.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node26',
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // pg-native: never loaded; embedded-postgres: finds its platform's binaries by package name.
    external: ['pg-native', 'embedded-postgres', '@embedded-postgres/*'],
    // bundled CommonJS dependencies call require()
    banner: {
      js: "import { createRequire as __benchCreateRequire } from 'node:module'; const require = __benchCreateRequire(import.meta.url);",
    },
    define: {
      __ORDERLY_BUILD_INFO__: JSON.stringify(currentBuildMetadata()),
      __ORDERLY_EMBEDDED_FILES__: JSON.stringify(embeddedFiles(repoRoot)),
    },
    plugins: [virtualImportMetaUrl(repoRoot)],
    logLevel: 'silent',
  });
  if (result.errors.length > 0)
    throw new Error(`embedded bundle failed: ${result.errors.map((e) => e.text).join('; ')}`);
  return outfile;
}

export interface EmbeddedOptions {
  /** The bundle to run on plain node; undefined: the launcher's TypeScript through tsx (`--from source`). */
  readonly bundle: string | undefined;
  readonly probeModule: string;
  readonly probeDir: string;
  readonly probeLabel: string;
  readonly repoRoot: string;
  readonly logFile: string;
  readonly startTimeoutMs: number;
  readonly logLevel?: string;
  /** Configuration paths to set (rate limits, token lifetime), when they exist. */
  readonly settings: Readonly<Record<string, string>>;
  readonly extraEnv?: Readonly<Record<string, string>>;
}

const envKey = (name: string) =>
  name
    .replace(/[A-Z]/g, (c) => `_${c}`)
    .toUpperCase()
    .replace(/-/g, '_');

/** One embedded system on its own ports and its own data directory (never the developer's .orderly). */
export class EmbeddedSystem {
  private constructor(
    readonly child: ChildProcess,
    readonly ports: Record<string, number>,
    readonly postgresPort: number,
    readonly dataDir: string,
    readonly databases: Record<string, string>,
    private readonly postgresCredentials: { user: string; password: string },
  ) {}

  static async start(o: EmbeddedOptions): Promise<EmbeddedSystem> {
    const defaults = defaultConfig() as Record<string, unknown> & {
      services?: Record<string, Record<string, unknown>>;
      embedded?: { postgresUser?: string; postgresPassword?: string };
    };
    const services = discoverServices();
    const ports: Record<string, number> = {};
    for (const s of services) ports[s] = await freePort();
    const postgresPort = await freePort();
    // Its own folder straight under the temporary directory: as root, embedded PostgreSQL runs as
    // a system user that must reach it (a 0700 parent such as the bench's work dir would refuse).
    const dataDir = mkdtempSync(join(tmpdir(), 'orderly-bench-embedded-'));
    const env: Record<string, string> = {
      ORDERLY_DATA_DIR: dataDir,
      ORDERLY_EMBEDDED__POSTGRES_PORT: String(postgresPort),
      ORDERLY_SERVICES__INVENTORY__SEED_DEMO_CATALOG: 'false',
      ORDERLY_SERVICES__IDENTITY__PASSWORD__SCRYPT__COST: '16384',
      BENCH_PROBE_DIR: o.probeDir,
      // the tracker's label: the bench finds the probe's GC and event-loop figures by it
      BENCH_PROBE_LABEL: o.probeLabel,
    };
    if (o.logLevel) env.ORDERLY_LOG_LEVEL = o.logLevel;
    const gatewayKeys = Object.keys(defaults.services?.gateway ?? {});
    for (const s of services) {
      env[`ORDERLY_SERVICES__${envKey(s)}__PORT`] = String(ports[s]);
      env[`ORDERLY_SERVICES__${envKey(s)}__OPERATOR_PORT`] = '0';
      if (gatewayKeys.includes(`${s}ServiceUrl`))
        env[`ORDERLY_SERVICES__GATEWAY__${envKey(s)}_SERVICE_URL`] = `http://127.0.0.1:${ports[s]}`;
    }
    for (const [path, value] of Object.entries(o.settings)) {
      if (hasPath(defaults, path)) env[`ORDERLY_${path.split('.').map(envKey).join('__')}`] = value;
    }
    // The bench's own environment may name the shared servers for the distributed system: the
    // embedded system uses neither.
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        ([k]) => !k.startsWith('ORDERLY_POSTGRES__') && !k.startsWith('ORDERLY_BUS__'),
      ),
    );
    const log = openSync(o.logFile, 'a');
    const args = o.bundle
      ? ['--import', o.probeModule, o.bundle]
      : [
          '--import',
          'tsx',
          '--import',
          o.probeModule,
          join(o.repoRoot, 'tools/launcher/src/embedded.ts'),
        ];
    const child = spawn(process.execPath, args, {
      cwd: o.repoRoot,
      env: { ...inherited, ...env, ...o.extraEnv },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    const databases: Record<string, string> = {};
    for (const s of services) {
      const db = defaults.services?.[s]?.database;
      if (typeof db === 'string') databases[s] = db;
    }
    const system = new EmbeddedSystem(child, ports, postgresPort, dataDir, databases, {
      user: defaults.embedded?.postgresUser ?? 'postgres',
      password: defaults.embedded?.postgresPassword ?? '',
    });
    try {
      await system.waitReady(o.startTimeoutMs, o.logFile);
    } catch (error) {
      await system.stop();
      throw error;
    }
    return system;
  }

  url(service: string): string {
    return `http://127.0.0.1:${this.ports[service]}`;
  }

  databaseUrl(database: string): string {
    const { user, password } = this.postgresCredentials;
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${this.postgresPort}/${database}`;
  }

  sagaDatabases(): SagaDatabases {
    return {
      orderUrl: this.databaseUrl(this.databases.order ?? 'orderly_order'),
      notificationUrl: this.databaseUrl(this.databases.notification ?? 'orderly_notification'),
    };
  }

  private async waitReady(timeoutMs: number, logFile: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const tail = () => {
      try {
        return readFileSync(logFile, 'utf8').trim().split('\n').slice(-30).join('\n');
      } catch {
        return '';
      }
    };
    for (;;) {
      if (this.child.exitCode !== null || this.child.signalCode !== null)
        throw new Error(
          `the embedded system exited (${this.child.exitCode ?? this.child.signalCode}) while starting:\n${tail()}`,
        );
      const ready = await fetch(`${this.url('gateway')}/readyz`, {
        signal: AbortSignal.timeout(1000),
      }).then(
        async (r) => {
          await r.body?.cancel();
          return r.ok;
        },
        () => false,
      );
      if (ready) return;
      if (Date.now() > deadline)
        throw new Error(`the embedded system was not ready after ${timeoutMs} ms:\n${tail()}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** The bench is aborted: the launcher and everything it started (its PostgreSQL), at once. */
  killAll(): void {
    const pid = this.child.pid;
    if (!pid) return;
    for (const p of [pid, ...descendantsOf(pid, allProcesses())]) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone already
      }
    }
    rmSync(this.dataDir, { recursive: true, force: true });
  }

  /** SIGTERM (the launcher stops the services, then its PostgreSQL), then removes the data. */
  async stop(): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 60_000);
    const code = await exited(this.child);
    clearTimeout(timer);
    rmSync(this.dataDir, { recursive: true, force: true });
    return code;
  }
}
