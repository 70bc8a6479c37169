import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '@orderly/platform/testing';
import { serviceNames, type ServiceName } from '@orderly/system';
import { ServiceProcesses } from '../service-processes.js';
import { TcpProxy, type ProxyMode } from '../tcp-proxy.js';
import { NatsCluster, type NatsNodePorts, type StreamClusterInfo } from './nats-cluster.js';
import { PostgresPair, type FailoverTimings } from './postgres-pair.js';

/**
 * Orderly in its production shape, on one machine, from real processes: a NATS JetStream cluster
 * (`natsNodes` nats-server processes, streams with `min(3, natsNodes)` replicas), `replicas` processes
 * of every service of @orderly/system competing on the same durable consumers and outbox, and
 * PostgreSQL as a primary with a synchronous streaming standby behind one address a failover moves.
 * In front of each service's replicas a balancer (what a Kubernetes Service is) on the service's
 * address: the gateway's RPC clients and the public clients use those.
 *
 * Used by `npm run start:cluster` (tools/launcher/src/cluster.ts), the cluster drill
 * (chaos/drills/cluster.yaml) and anything else that needs N replicas (the replica benchmark).
 */
export interface ClusterTopologyOptions {
  /** Everything lives here: NATS stores, PostgreSQL folders, the services' dataDir. */
  readonly dataDir: string;
  readonly natsNodes?: number;
  readonly replicas?: number;
  /** A streaming-replication standby that `failoverPostgres` promotes (default true). */
  readonly postgresStandby?: boolean;
  /** Arguments every service gets after main.ts (e.g. `['--config', 'config/cluster.yaml']`). */
  readonly serviceArgs?: readonly string[];
  /** `ORDERLY_*` settings for every service process, over the topology's own. */
  readonly env?: Readonly<Record<string, string>>;
  /** Fixed ports (free ones where not given). */
  readonly ports?: {
    readonly nats?: readonly NatsNodePorts[];
    readonly postgres?: readonly [number, number];
    /** The address the services use for PostgreSQL. */
    readonly postgresProxy?: number;
    /** Each service's balanced address (the gateway's is the public one). */
    readonly front?: Partial<Record<ServiceName, number>>;
  };
  /** Every line the services print goes here (a file path). */
  readonly serviceLog?: string;
  /** A service that exits by itself is started again after this (default 1000 ms). */
  readonly restartDelayMs?: number;
  readonly readyTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** One process of one service: `order#1` is order's second replica. */
export type ReplicaKey = `${ServiceName}#${number}`;

export const replicaKey = (service: ServiceName, replica: number): ReplicaKey =>
  `${service}#${replica}`;

const serviceOf = (key: ReplicaKey): ServiceName => key.split('#')[0] as ServiceName;

const envKey = (name: string) => name.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase();

export interface ClusterUrls {
  /** The public API (the gateway's balanced address). */
  readonly gateway: string;
  /** Each service's balanced address. */
  readonly services: Record<ServiceName, string>;
  /** Each replica's own address. */
  readonly replicas: Record<ServiceName, string[]>;
  /** Every NATS node's client URL. */
  readonly nats: string[];
  /** PostgreSQL as the services reach it (the address a failover moves). */
  readonly postgres: string;
}

export class ClusterTopology {
  readonly urls: ClusterUrls;
  private readonly stopping = { value: false };

  constructor(
    readonly options: Required<Pick<ClusterTopologyOptions, 'natsNodes' | 'replicas'>> &
      ClusterTopologyOptions,
    readonly nats: NatsCluster,
    readonly postgres: PostgresPair,
    readonly fronts: ReadonlyMap<ServiceName, TcpProxy>,
    readonly processes: ServiceProcesses<ReplicaKey>,
  ) {
    const replicas = {} as Record<ServiceName, string[]>;
    const services = {} as Record<ServiceName, string>;
    for (const s of serviceNames) {
      services[s] = `http://127.0.0.1:${fronts.get(s)!.port}`;
      replicas[s] = this.keysOf(s).map((k) => processes.url(k));
    }
    this.urls = {
      gateway: services.gateway,
      services,
      replicas,
      nats: nats.urls,
      postgres: postgres.url,
    };
  }

  /** The stream replicas every service is configured with. */
  get streamReplicas(): number {
    return Math.min(3, this.options.natsNodes);
  }

  keysOf(service: ServiceName): ReplicaKey[] {
    return Array.from({ length: this.options.replicas }, (_, i) => replicaKey(service, i));
  }

  get keys(): ReplicaKey[] {
    return serviceNames.flatMap((s) => this.keysOf(s));
  }

  // ---- faults -------------------------------------------------------------------------------

  /** The node that leads `stream` (JetStream's `$JS.API.STREAM.INFO`), and its followers' state. */
  streamCluster(stream: string): Promise<StreamClusterInfo> {
    return this.nats.streamCluster(stream);
  }

  /** kill -9 (or SIGTERM) of one NATS node; `startNatsNode` brings it back with its store. */
  killNatsNode(name: string, signal: 'SIGKILL' | 'SIGTERM' = 'SIGKILL'): Promise<void> {
    return this.nats.node(name).stop(signal);
  }

  startNatsNode(name: string): Promise<void> {
    return this.nats.node(name).start();
  }

  /** A network partition: the node's routes to every other node cut; its clients still reach it. */
  cutNatsNode(name: string, mode: Exclude<ProxyMode, 'pass'> = 'blackhole'): void {
    this.nats.cut(name, mode);
  }

  healNatsNode(name: string): void {
    this.nats.heal(name);
  }

  /** The primary killed (-9), the standby promoted, the services' address moved to it. */
  failoverPostgres(): Promise<FailoverTimings> {
    return this.postgres.failover();
  }

  /** A new standby from the new primary (base backup); replication synchronous again. Returns ms. */
  rebuildPostgresStandby(): Promise<number> {
    return this.postgres.rebuildStandby();
  }

  /** Stops one replica (SIGKILL: kill -9; SIGTERM: graceful) and waits for it to exit. */
  stopReplica(key: ReplicaKey, signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null> {
    return this.processes.stop(key, signal);
  }

  /** Starts a stopped replica and resolves when it answers /readyz (ms it took). */
  async startReplica(key: ReplicaKey): Promise<number> {
    this.processes.start(key);
    return this.processes.waitReady(key, this.options.readyTimeoutMs ?? 120_000);
  }

  // ---- stop ---------------------------------------------------------------------------------

  /** Every service gracefully (SIGTERM, exit codes by replica), then NATS, then PostgreSQL. */
  async stop(): Promise<Record<string, number | null>> {
    this.stopping.value = true;
    const codes = await this.processes.stopAll();
    for (const front of this.fronts.values()) await front.close();
    await this.nats.stop('SIGTERM');
    await this.postgres.stop();
    return codes;
  }

  /** Everything killed at once (an interrupted run). */
  async kill(): Promise<void> {
    this.processes.killAll();
    for (const front of this.fronts.values()) await front.close().catch(() => undefined);
    await this.nats.stop('SIGKILL');
    await this.postgres.kill();
  }
}

/** Starts the whole topology and resolves when every replica answers /readyz. */
export async function startClusterTopology(
  options: ClusterTopologyOptions,
): Promise<ClusterTopology> {
  const natsNodes = options.natsNodes ?? 3;
  const replicas = options.replicas ?? 2;
  const log = options.log ?? (() => undefined);
  const readyTimeoutMs = options.readyTimeoutMs ?? 180_000;
  mkdirSync(options.dataDir, { recursive: true });

  const natsPorts: NatsNodePorts[] = [];
  for (let i = 0; i < natsNodes; i++)
    natsPorts.push(
      options.ports?.nats?.[i] ?? {
        client: await freePort(),
        cluster: await freePort(),
        monitor: await freePort(),
      },
    );
  const nats = new NatsCluster({
    dir: join(options.dataDir, 'nats'),
    nodes: natsPorts,
    deadAdvertisePort: await freePort(),
  });
  const postgres = new PostgresPair({
    dir: join(options.dataDir, 'postgres'),
    ports: options.ports?.postgres ?? [await freePort(), await freePort()],
    proxyPort: options.ports?.postgresProxy ?? 0,
    standby: options.postgresStandby ?? true,
  });
  const fronts = new Map<ServiceName, TcpProxy>();
  const ports = {} as Record<ReplicaKey, number>;
  const operatorPorts = {} as Record<ReplicaKey, number>;
  const keys = serviceNames.flatMap((s) =>
    Array.from({ length: replicas }, (_, i) => replicaKey(s, i)),
  );
  for (const key of keys) {
    ports[key] = await freePort();
    // Fixed per replica: a restart must not land on a port another process is about to take.
    operatorPorts[key] = await freePort();
  }

  let processes: ServiceProcesses<ReplicaKey> | undefined;
  try {
    log(`NATS: ${natsNodes} node(s) starting`);
    await nats.start();
    log(`PostgreSQL: primary${options.postgresStandby === false ? '' : ' + standby'} starting`);
    await postgres.start();
    for (const s of serviceNames) {
      const front = new TcpProxy(
        `${s} front`,
        Array.from({ length: replicas }, (_, i) => ({
          host: '127.0.0.1',
          port: ports[replicaKey(s, i)]!,
        })),
        options.ports?.front?.[s] ?? 0,
      );
      await front.start();
      fronts.set(s, front);
    }
    const frontUrl = (s: ServiceName) => `http://127.0.0.1:${fronts.get(s)!.port}`;
    const envFor = (key: ReplicaKey): Record<string, string> => {
      const service = serviceOf(key);
      const env: Record<string, string> = {
        ORDERLY_DATA_DIR: options.dataDir,
        ORDERLY_BUS__KIND: 'nats',
        ORDERLY_BUS__NATS_SERVERS: nats.urls.join(','),
        ORDERLY_BUS__STREAM_REPLICAS: String(Math.min(3, natsNodes)),
        ORDERLY_POSTGRES__URL: postgres.url,
        ORDERLY_SERVICES__GATEWAY__ORDER_SERVICE_URL: frontUrl('order'),
        ORDERLY_SERVICES__GATEWAY__INVENTORY_SERVICE_URL: frontUrl('inventory'),
        ORDERLY_SERVICES__GATEWAY__IDENTITY_SERVICE_URL: frontUrl('identity'),
        ORDERLY_SERVICES__GATEWAY__RISK_SERVICE_URL: frontUrl('risk'),
        ...options.env,
      };
      env[`ORDERLY_SERVICES__${envKey(service)}__PORT`] = String(ports[key]);
      env[`ORDERLY_SERVICES__${envKey(service)}__OPERATOR_PORT`] = String(operatorPorts[key]);
      return env;
    };
    processes = new ServiceProcesses<ReplicaKey>(
      envFor,
      ports,
      options.restartDelayMs ?? 1000,
      options.serviceLog,
      { serviceOf, ...(options.serviceArgs ? { args: options.serviceArgs } : {}) },
    );
    // Replica 0 of every service first (migrations, the bootstrap admin, the first signing key are
    // made once), then the others together.
    for (let i = 0; i < replicas; i++) {
      const wave = serviceNames.map((s) => replicaKey(s, i));
      log(`services: starting ${wave.join(' ')}`);
      for (const key of wave) processes.start(key);
      await Promise.all(wave.map((key) => processes!.waitReady(key, readyTimeoutMs)));
    }
    return new ClusterTopology(
      { ...options, natsNodes, replicas },
      nats,
      postgres,
      fronts,
      processes,
    );
  } catch (err) {
    processes?.killAll();
    for (const front of fronts.values()) await front.close().catch(() => undefined);
    await nats.stop('SIGKILL').catch(() => undefined);
    await postgres.kill().catch(() => undefined);
    throw err;
  }
}
