import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { parse as parseYaml } from 'yaml';
import { jetstreamManager } from '@nats-io/jetstream';
import { freePort } from '@orderly/platform/testing';
import { hasDatabase, serviceNames } from '@orderly/system';
import { launchArgs, type ServiceLaunch } from './launch.js';
import { connect } from '@nats-io/transport-node';

/**
 * The distributed system under test: one process per service (by default `node dist/bundles/<svc>.cjs`,
 * as production runs it; see launch.ts), or `replicas` processes per service, configured through
 * ORDERLY_* variables like the e2e harness, with its own databases, ports, stream and subject prefix
 * so a run never touches anything else. The services are the system's (@orderly/system), so a new
 * one is started too.
 */
export const repoRoot = new URL('../../', import.meta.url).pathname;

/** Every service, in start order (the gateway last: it checks its upstreams for readiness). */
export function discoverServices(): string[] {
  return [...serviceNames];
}

type ConfigTree = { services?: Record<string, Record<string, unknown>> } & Record<string, unknown>;

/** config/default.yaml as data: which settings exist decides what the bench may set. */
export function defaultConfig(): ConfigTree {
  return parseYaml(readFileSync(join(repoRoot, 'config/default.yaml'), 'utf8')) as ConfigTree;
}

export function hasPath(tree: unknown, path: string): boolean {
  let node: unknown = tree;
  for (const key of path.split('.')) {
    if (typeof node !== 'object' || node === null || !(key in node)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
}

export { freePort };

const envKey = (name: string) =>
  name
    .replace(/[A-Z]/g, (c) => `_${c}`)
    .toUpperCase()
    .replace(/-/g, '_');

/** The ORDERLY_* variable of a configuration path (`bus.consumerBatch.maxInFlight` → `ORDERLY_BUS__CONSUMER_BATCH__MAX_IN_FLIGHT`). */
export const settingEnvName = (path: string): string =>
  `ORDERLY_${path.split('.').map(envKey).join('__')}`;

export function databaseUrlFor(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

export async function dropDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrlFor(serverUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(database)} WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export async function createDatabase(serverUrl: string, database: string): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrlFor(serverUrl, 'postgres') });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`);
  } finally {
    await client.end();
  }
}

export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/**
 * One service process. Replicas of a service share its database, stream and durable consumers (they
 * compete for deliveries; their relays claim with SKIP LOCKED) and each listens on a port of its own.
 * Replica 1 is named after the service, replica n > 1 `<service>#<n>`.
 */
export interface Instance {
  readonly name: string;
  readonly service: string;
  readonly replica: number;
  readonly port: number;
}

export const instanceName = (service: string, replica: number): string =>
  replica === 1 ? service : `${service}#${replica}`;

/** The service an instance (a process label of the resource figures) belongs to. */
export const serviceOfInstance = (name: string): string => name.replace(/#\d+$/, '');

export interface SystemOptions {
  readonly postgresUrl: string;
  readonly natsUrl: string;
  readonly workDir: string;
  readonly probeDir: string;
  /** Bundles (as production) or TypeScript source; see launch.ts. */
  readonly launch: ServiceLaunch;
  readonly logLevel?: string;
  /** Extra node flags for every service (e.g. --max-semi-space-size=64). */
  readonly nodeFlags: readonly string[];
  /** Services to run with --cpu-prof, written to cpuProfileDir. */
  readonly cpuProfile: readonly string[];
  readonly cpuProfileDir: string;
  /** Worker processes per hot service (`workers.count.<svc>`). */
  readonly workers?: { readonly count: number; readonly services: readonly string[] };
  readonly extraEnv?: Readonly<Record<string, string>>;
  /**
   * Processes per service (default 1). Replica n of the gateway calls replica n of each upstream
   * (the pairing stands in for a Kubernetes Service: the load is spread by the load generator, which
   * opens its connections to every gateway replica in turn).
   */
  readonly replicas?: number;
  /** bus.natsServers of the services when it is more than `natsUrl` (every node of a cluster). */
  readonly natsServers?: string;
  /** Configuration paths to set (e.g. services.gateway.rateLimits.perAddress.burst), when they exist. */
  readonly settings?: Readonly<Record<string, string>>;
  readonly startTimeoutMs: number;
}

export class DistributedSystem {
  /** By instance name (replica 1: the service's name). */
  readonly processes = new Map<string, ChildProcess>();
  /** When each service process exited (epoch ms): maps a CPU profile's clock to wall time. */
  readonly exitedAt = new Map<string, number>();
  readonly services: string[];
  /** Every process of the system: replica 1 of each service, then replica 2 of each, and so on. */
  readonly instances: Instance[];
  /** Replica 1's port of each service. */
  readonly ports: Record<string, number>;
  private constructor(
    readonly id: string,
    instances: Instance[],
    readonly databases: Record<string, string>,
    private readonly options: SystemOptions,
  ) {
    this.instances = instances;
    this.services = [...new Set(instances.map((i) => i.service))];
    this.ports = Object.fromEntries(
      instances.filter((i) => i.replica === 1).map((i) => [i.service, i.port]),
    );
  }

  static async start(options: SystemOptions): Promise<DistributedSystem> {
    const id = randomBytes(3).toString('hex');
    const replicas = options.replicas ?? 1;
    const instances: Instance[] = [];
    const databases: Record<string, string> = {};
    for (let replica = 1; replica <= replicas; replica++) {
      for (const service of discoverServices()) {
        instances.push({
          name: instanceName(service, replica),
          service,
          replica,
          port: await freePort(),
        });
      }
    }
    for (const s of discoverServices())
      if (hasDatabase(s)) databases[s] = `orderly_bench_${id}_${s.replace(/-/g, '_')}`;
    const system = new DistributedSystem(id, instances, databases, options);
    try {
      // Replica by replica, as a rollout adds them: the first migrates the databases and creates
      // the stream and consumers, the others join what exists.
      for (let replica = 1; replica <= replicas; replica++) {
        const wave = instances.filter((i) => i.replica === replica);
        for (const instance of wave) system.startInstance(instance);
        await Promise.all(wave.map((i) => system.waitReady(i.name)));
      }
    } catch (error) {
      await system.stop();
      await system.cleanup();
      throw error;
    }
    return system;
  }

  /** Replica 1 of `service`, or the instance of that name. */
  url(service: string): string {
    return `http://127.0.0.1:${this.instance(service).port}`;
  }

  /** The base URLs of every replica of `service`, replica 1 first. */
  replicaUrls(service: string): string[] {
    return this.instances
      .filter((i) => i.service === service)
      .map((i) => `http://127.0.0.1:${i.port}`);
  }

  private instance(name: string): Instance {
    const found = this.instances.find((i) => i.name === name);
    if (!found) throw new Error(`no service process ${name}`);
    return found;
  }

  /** The services' data folder: their workload keys (and the operator's, see operatorIdentity in main.ts) live under it. */
  get dataDir(): string {
    return join(this.options.workDir, 'data');
  }

  logFile(instance: string): string {
    return join(this.options.workDir, `${instance.replace('#', '-')}.log`);
  }

  env(instanceName: string): Record<string, string> {
    const o = this.options;
    const { service, replica } = this.instance(instanceName);
    // Replica n talks to replica n of each upstream (or the last one, when it has fewer).
    const peer = (s: string) => {
      const all = this.instances.filter((i) => i.service === s);
      return all.find((i) => i.replica === replica) ?? all[all.length - 1];
    };
    const env: Record<string, string> = {
      ORDERLY_DATA_DIR: this.dataDir,
      ORDERLY_POSTGRES__URL: o.postgresUrl,
      ORDERLY_BUS__KIND: 'nats',
      ORDERLY_BUS__NATS_SERVERS: o.natsServers ?? o.natsUrl,
      ORDERLY_BUS__STREAM: `BENCH_${this.id}`,
      ORDERLY_BUS__DEAD_LETTER_STREAM: `BENCH_${this.id}_DL`,
      ORDERLY_BUS__SUBJECT_PREFIX: `bench${this.id}`,
      ORDERLY_BUS__DEAD_LETTER_SUBJECT_PREFIX: `bench${this.id}dl`,
      ORDERLY_SERVICES__INVENTORY__SEED_DEMO_CATALOG: 'false',
      // The bench measures sagas, not logins: the shipped scrypt cost (2^17, ~0.5 s a hash) would
      // add a minute of setup for the users it registers and logs in.
      ORDERLY_SERVICES__IDENTITY__PASSWORD__SCRYPT__COST: '16384',
      BENCH_PROBE_DIR: o.probeDir,
      BENCH_PROBE_LABEL: instanceName,
    };
    if (o.logLevel) env.ORDERLY_LOG_LEVEL = o.logLevel;
    const defaults = defaultConfig();
    const gatewayKeys = Object.keys(defaults.services?.gateway ?? {});
    for (const s of this.services) {
      const port = peer(s)?.port;
      env[`ORDERLY_SERVICES__${envKey(s)}__PORT`] = String(port);
      // /metrics and /admin/* on any free port: the bench scrapes none of them.
      env[`ORDERLY_SERVICES__${envKey(s)}__OPERATOR_PORT`] = '0';
      // only the upstreams the gateway's configuration knows (its schema refuses unknown keys)
      if (gatewayKeys.includes(`${s}ServiceUrl`))
        env[`ORDERLY_SERVICES__GATEWAY__${envKey(s)}_SERVICE_URL`] = `http://127.0.0.1:${port}`;
    }
    for (const [path, value] of Object.entries(o.settings ?? {})) {
      if (hasPath(defaults, path)) env[settingEnvName(path)] = value;
    }
    for (const [s, db] of Object.entries(this.databases))
      env[`ORDERLY_SERVICES__${envKey(s)}__DATABASE`] = db;
    if (o.workers && o.workers.services.includes(service)) {
      env[`ORDERLY_WORKERS__COUNT__${envKey(service)}`] = String(o.workers.count);
    }
    return { ...env, ...o.extraEnv };
  }

  private startInstance({ name, service }: Instance): ChildProcess {
    const o = this.options;
    const flags = o.cpuProfile.includes(service)
      ? [...o.nodeFlags, '--cpu-prof', `--cpu-prof-dir=${join(o.cpuProfileDir, name)}`]
      : o.nodeFlags;
    const args = launchArgs(o.launch, repoRoot, service, flags);
    const log = openSync(this.logFile(name), 'a');
    const child = spawn(process.execPath, args, {
      cwd: repoRoot,
      env: { ...process.env, ...this.env(name) },
      stdio: ['ignore', log, log],
    });
    closeSync(log);
    this.processes.set(name, child);
    return child;
  }

  tail(instance: string, lines = 30): string {
    try {
      return readFileSync(this.logFile(instance), 'utf8')
        .trim()
        .split('\n')
        .slice(-lines)
        .join('\n');
    } catch {
      return '';
    }
  }

  async waitReady(instance: string): Promise<void> {
    const deadline = Date.now() + this.options.startTimeoutMs;
    for (;;) {
      const child = this.processes.get(instance);
      if (child && (child.exitCode !== null || child.signalCode !== null)) {
        throw new Error(
          `${instance} exited (${child.exitCode ?? child.signalCode}) while starting:\n${this.tail(instance)}`,
        );
      }
      try {
        const response = await fetch(`${this.url(instance)}/readyz`, {
          signal: AbortSignal.timeout(1000),
        });
        await response.body?.cancel();
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline)
        throw new Error(
          `${instance} not ready after ${this.options.startTimeoutMs} ms:\n${this.tail(instance)}`,
        );
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  async sql<Row = Record<string, unknown>>(
    service: string,
    text: string,
    values: unknown[] = [],
  ): Promise<Row[]> {
    const database = this.databases[service];
    if (!database) throw new Error(`no database for ${service}`);
    const client = new pg.Client({
      connectionString: databaseUrlFor(this.options.postgresUrl, database),
    });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as Row[];
    } finally {
      await client.end();
    }
  }

  /** Process ids by instance (the main process of each). */
  pids(): Record<string, number> {
    const pids: Record<string, number> = {};
    for (const [s, child] of this.processes) if (child.pid) pids[s] = child.pid;
    return pids;
  }

  /** SIGTERM every service and wait (graceful stop also writes CPU profiles). */
  async stop(): Promise<Record<string, number | null>> {
    const codes: Record<string, number | null> = {};
    await Promise.all(
      [...this.processes].map(async ([name, child]) => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        codes[name] = await exited(child);
        this.exitedAt.set(name, Date.now());
        clearTimeout(timer);
      }),
    );
    return codes;
  }

  async cleanup(): Promise<void> {
    for (const db of Object.values(this.databases))
      await dropDatabase(this.options.postgresUrl, db).catch(() => undefined);
    const nc = await connect({ servers: this.options.natsUrl });
    try {
      const jsm = await jetstreamManager(nc);
      for (const stream of [`BENCH_${this.id}`, `BENCH_${this.id}_DL`])
        await jsm.streams.delete(stream).catch(() => false);
    } finally {
      await nc.close();
    }
  }

  killAll(): void {
    for (const child of this.processes.values())
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
