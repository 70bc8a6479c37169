import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { stringify } from 'yaml';
import type { Drill } from './drill-file.js';
import { NatsServer, PostgresServer } from './infrastructure.js';
import { freePort } from '@orderly/platform/testing';
import {
  ServiceProcesses,
  services,
  servicesWithDatabase,
  repoRoot,
  type Service,
  type ServiceWithDatabase,
} from './service-processes.js';
import { TcpProxy } from './tcp-proxy.js';

/**
 * Everything a drill runs on: a temporary folder, its own PostgreSQL and NATS, a TCP proxy per
 * service and dependency, a flags file the drill may rewrite, and one process per service.
 */
export type Dependency = 'postgres' | 'nats';
type FlagsDocument = { flags: Record<string, Record<string, unknown>> };

const envKey = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

/** A service exit nobody asked for (the supervisor restarted it). */
export interface UnexpectedExit {
  readonly service: string;
  readonly code: number | null;
  readonly signal: string | null;
  readonly at: number;
}

/**
 * What every service process of a drill runs with (single processes or the cluster topology):
 * quick redelivery and lease settings so faults heal within the drill, no telemetry, the drill's
 * flags file and bootstrap admin, cheap password hashing, and no per-address rate limits (every
 * drill client comes from 127.0.0.1). Ports, URLs and the drill's own `env` are added by the caller.
 */
export function drillServiceSettings(
  workDir: string,
  admin: { readonly email: string; readonly password: string },
  flagsFile: string,
): Record<string, string> {
  const env: Record<string, string> = {
    ORDERLY_LOG_LEVEL: 'warn',
    ORDERLY_DATA_DIR: workDir,
    ORDERLY_POSTGRES__POOL_SIZE: '5',
    ORDERLY_BUS__KIND: 'nats',
    ORDERLY_BUS__RETRY_BACKOFF_MS: '[100,500,1000,2000]',
    ORDERLY_BUS__ACK_WAIT_MS: '10000',
    // Rows handed to a relay that is killed are published by its restart after this.
    ORDERLY_OUTBOX__HANDOFF_LEASE_MS: '2000',
    ORDERLY_OUTBOX__RETRY_MAX_MS: '2000',
    ORDERLY_SHUTDOWN__GRACE_MS: '10000',
    ORDERLY_TELEMETRY__ENABLED: 'false',
    ORDERLY_FLAGS__FILE: flagsFile,
    ORDERLY_SERVICES__INVENTORY__SEED_DEMO_CATALOG: 'false',
    // Tokens are fetched once before the drill; a long drill must not outlive them.
    ORDERLY_SERVICES__IDENTITY__ACCESS_TOKEN_TTL_MS: String(4 * 3600_000),
    ORDERLY_SERVICES__IDENTITY__BOOTSTRAP_ADMIN__EMAIL: admin.email,
    ORDERLY_SERVICES__IDENTITY__BOOTSTRAP_ADMIN__PASSWORD: admin.password,
    ORDERLY_SERVICES__IDENTITY__PASSWORD__SCRYPT__COST: '1024',
  };
  // The drill's clients all come from 127.0.0.1: the per-address limits would throttle the drill, not test anything.
  for (const limit of ['PER_ADDRESS', 'PER_USER', 'LOGIN', 'LOGIN_ACCOUNT']) {
    env[`ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__${limit}__BURST`] = '1000000';
    env[`ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__${limit}__PER_MINUTE`] = '1000000';
  }
  return env;
}

export class DrillEnvironment {
  readonly admin = {
    email: 'admin@chaos.orderly.test',
    password: `chaos-admin-${randomBytes(8).toString('hex')}`,
  };
  private readonly proxies = new Map<string, TcpProxy>();
  private readonly flagsFile: string;
  /** ORDERLY_CONFIG of every service: empty until a `set-config` step writes keys (hot-reloaded). */
  private readonly configFile: string;
  private readonly configDocument: Record<string, unknown> = {};
  /** Flags a fault in progress has changed, by name; the rest are the shipped ones. */
  private readonly flagOverrides = new Map<string, Record<string, unknown>>();
  private readonly baseFlags: FlagsDocument;
  private processes: ServiceProcesses | undefined;

  private constructor(
    readonly drill: Drill,
    readonly workDir: string,
    readonly postgres: PostgresServer,
    readonly nats: NatsServer,
    readonly ports: Record<Service, number>,
    private readonly operatorPorts: Record<Service, number>,
  ) {
    this.flagsFile = join(workDir, 'flags.json');
    this.configFile = join(workDir, 'orderly.yaml');
    writeFileSync(this.configFile, '{}\n');
    this.baseFlags = JSON.parse(
      readFileSync(join(repoRoot, 'flags/flags.json'), 'utf8'),
    ) as FlagsDocument;
    this.resetFlags();
  }

  static async create(drill: Drill): Promise<DrillEnvironment> {
    const workDir = mkdtempSync(join(tmpdir(), `orderly-chaos-${drill.name}-`));
    // As root, PostgreSQL runs as its own user, which must be able to enter the drill's folder.
    chmodSync(workDir, 0o755);
    const ports = {} as Record<Service, number>;
    for (const s of services) ports[s] = await freePort();
    // Operator ports are fixed per service too: with port 0 every restart listened on a new ephemeral
    // port, which could be the one another service was about to restart on (EADDRINUSE, seen in CI).
    const operatorPorts = {} as Record<Service, number>;
    for (const s of services) operatorPorts[s] = await freePort();
    const postgres = new PostgresServer(await freePort(), join(workDir, 'postgres'));
    const nats = new NatsServer(await freePort(), join(workDir, 'nats'));
    return new DrillEnvironment(drill, workDir, postgres, nats, ports, operatorPorts);
  }

  get system(): ServiceProcesses {
    if (!this.processes) throw new Error('the services are not started');
    return this.processes;
  }

  /** The JetStream duplicate window the services run with (the drill's own connections use the same). */
  get duplicateWindowMs(): number {
    return Number(this.drill.env.ORDERLY_BUS__DUPLICATE_WINDOW_MS ?? 120_000);
  }

  proxy(service: Service, dependency: Dependency): TcpProxy | undefined {
    return this.proxies.get(`${service}/${dependency}`);
  }

  /** Starts PostgreSQL, NATS, the proxies and every service, and waits until all are ready. */
  async start(serviceLog: string | undefined): Promise<void> {
    await this.postgres.start();
    await this.nats.start();
    for (const service of servicesWithDatabase) {
      for (const [dependency, port] of [
        ['postgres', this.postgres.port],
        ['nats', this.nats.port],
      ] as const) {
        const proxy = new TcpProxy(`${service}/${dependency}`, { host: '127.0.0.1', port });
        await proxy.start();
        this.proxies.set(proxy.name, proxy);
      }
    }
    const system = new ServiceProcesses((s) => this.envFor(s), this.ports, 1000, serviceLog);
    this.processes = system;
    for (const s of services) system.start(s);
    await Promise.all(services.map((s) => system.waitReady(s, 120_000)));
  }

  /** Settings every service of a drill runs with, then the drill's own `env`. */
  private envFor(service: Service): Record<string, string> {
    const env: Record<string, string> = {
      ...drillServiceSettings(this.workDir, this.admin, this.flagsFile),
      ORDERLY_CONFIG: this.configFile,
      // A set-config step applies within a second (the default polls every 5 s when an event is missed).
      ORDERLY_CONFIG_RELOAD__POLL_INTERVAL_MS: '1000',
      ORDERLY_SERVICES__GATEWAY__ORDER_SERVICE_URL: `http://127.0.0.1:${this.ports.order}`,
      ORDERLY_SERVICES__GATEWAY__INVENTORY_SERVICE_URL: `http://127.0.0.1:${this.ports.inventory}`,
      ORDERLY_SERVICES__GATEWAY__IDENTITY_SERVICE_URL: `http://127.0.0.1:${this.ports.identity}`,
    };
    for (const s of services) env[`ORDERLY_SERVICES__${envKey(s)}__PORT`] = String(this.ports[s]);
    // Operator ports (/metrics, /admin/*): the drill uses none. Keys: generated under ORDERLY_DATA_DIR, shared by all.
    for (const s of services)
      env[`ORDERLY_SERVICES__${envKey(s)}__OPERATOR_PORT`] = String(this.operatorPorts[s]);
    Object.assign(env, this.drill.env);
    // Each service reaches its dependencies through its own proxies, so one link can be cut alone.
    const pgProxy = this.proxy(service, 'postgres');
    const natsProxy = this.proxy(service, 'nats');
    if (pgProxy) env.ORDERLY_POSTGRES__URL = this.postgres.urlOn(pgProxy.port);
    if (natsProxy) env.ORDERLY_BUS__NATS_SERVERS = `nats://127.0.0.1:${natsProxy.port}`;
    return env;
  }

  get gatewayUrl(): string {
    return this.system.url('gateway');
  }

  get natsServers(): string[] {
    return [this.nats.url];
  }

  describe(): string {
    return `PostgreSQL :${this.postgres.port}, NATS :${this.nats.port} (the drill's own); services ${services.map((s) => `${s}:${this.ports[s]}`).join(' ')}`;
  }

  stopAll(): Promise<Record<string, number | null>> {
    return this.system.stopAll();
  }

  get unexpectedExits(): readonly UnexpectedExit[] {
    return this.processes?.unexpectedExits ?? [];
  }

  /** One query on a service's own database, straight to the server (never through a proxy). */
  async sql<Row = Record<string, unknown>>(
    service: ServiceWithDatabase,
    text: string,
    values: unknown[] = [],
  ): Promise<Row[]> {
    const client = new pg.Client({
      connectionString: this.postgres.url.replace(/\/postgres$/, `/orderly_${service}`),
      connectionTimeoutMillis: 5000,
    });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as Row[];
    } finally {
      await client.end();
    }
  }

  /** The shipped flags with latency and an error rate turned on for one service only. */
  slowDown(service: Service, latencyMs: number, errorRatePercent: number): void {
    const targeted = (value: number) => ({
      state: 'ENABLED',
      variants: { off: 0, chaos: value },
      defaultVariant: 'off',
      targeting: { if: [{ '==': [{ var: 'service' }, service] }, 'chaos', 'off'] },
    });
    this.flagOverrides.set('fault-latency-ms', targeted(latencyMs));
    this.flagOverrides.set('fault-error-rate', targeted(errorRatePercent));
    this.writeFlags();
  }

  /** Latency and error rate back to the shipped flags; other faults' flags stay as they are. */
  restoreSpeed(): void {
    this.flagOverrides.delete('fault-latency-ms');
    this.flagOverrides.delete('fault-error-rate');
    this.writeFlags();
  }

  /** The payment provider unreachable (flag `payment-provider-outage` on) or back (the shipped flag). */
  setProviderOutage(down: boolean): void {
    if (down)
      this.flagOverrides.set('payment-provider-outage', {
        state: 'ENABLED',
        variants: { on: true, off: false },
        defaultVariant: 'on',
      });
    else this.flagOverrides.delete('payment-provider-outage');
    this.writeFlags();
  }

  /**
   * A flag's default variant from now on (a rollout step, not reverted). The flag must be in the
   * shipped flags file with that variant: a drill cannot invent one.
   */
  setFlag(name: string, variant: string): void {
    const shipped = this.baseFlags.flags[name];
    if (!shipped) throw new Error(`flag ${name} is not in flags/flags.json`);
    const variants = (shipped.variants ?? {}) as Record<string, unknown>;
    if (!(variant in variants))
      throw new Error(
        `flag ${name} has no variant ${JSON.stringify(variant)} (variants: ${Object.keys(variants).join(', ')})`,
      );
    // Everyone gets the variant: the shipped targeting (if any) is dropped with the override.
    const untargeted = Object.fromEntries(
      Object.entries(shipped).filter(([k]) => k !== 'targeting'),
    );
    this.flagOverrides.set(name, { ...untargeted, defaultVariant: variant });
    this.writeFlags();
  }

  /** Sets `a.b.c` keys in the drill's configuration file, which every service follows. */
  setConfig(values: Readonly<Record<string, unknown>>): void {
    for (const [path, value] of Object.entries(values)) {
      const parts = path.split('.');
      let node = this.configDocument;
      for (const part of parts.slice(0, -1)) {
        const next = node[part];
        if (typeof next !== 'object' || next === null || Array.isArray(next)) node[part] = {};
        node = node[part] as Record<string, unknown>;
      }
      node[parts[parts.length - 1]!] = value;
    }
    writeFileSync(this.configFile, stringify(this.configDocument));
  }

  resetFlags(): void {
    this.flagOverrides.clear();
    this.writeFlags();
  }

  /** The shipped flags with the overrides of the faults in progress. */
  private writeFlags(): void {
    const flags = { ...this.baseFlags.flags, ...Object.fromEntries(this.flagOverrides) };
    writeFileSync(this.flagsFile, JSON.stringify({ ...this.baseFlags, flags }, null, 2));
  }

  /** Kills whatever still runs and removes the folder. */
  async close(): Promise<void> {
    this.processes?.killAll();
    for (const proxy of this.proxies.values()) await proxy.close();
    await this.nats.stop('SIGKILL').catch(() => undefined);
    await this.postgres.stop().catch(() => undefined);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
