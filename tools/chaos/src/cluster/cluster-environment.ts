import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Drill } from '../drill-file.js';
import { drillServiceSettings, type UnexpectedExit } from '../environment.js';
import { repoRoot, type ServiceWithDatabase } from '../service-processes.js';
import { startClusterTopology, type ClusterTopology } from './topology.js';

/**
 * A drill on the production shape (a drill file with `topology`): the NATS cluster, replicas of
 * every service behind their balancers, PostgreSQL primary + standby — all in a temporary folder,
 * on free ports. The drill's clients use the gateway's balanced address; its checks read the
 * current primary directly.
 */
export class ClusterDrillEnvironment {
  readonly admin = {
    email: 'admin@chaos.orderly.test',
    password: `chaos-admin-${randomBytes(8).toString('hex')}`,
  };
  private current: ClusterTopology | undefined;

  private constructor(
    readonly drill: Drill,
    readonly workDir: string,
  ) {}

  static create(drill: Drill): ClusterDrillEnvironment {
    const workDir = mkdtempSync(join(tmpdir(), `orderly-chaos-${drill.name}-`));
    // As root, PostgreSQL runs as its own user, which must be able to enter the drill's folder.
    chmodSync(workDir, 0o755);
    return new ClusterDrillEnvironment(drill, workDir);
  }

  get topology(): ClusterTopology {
    if (!this.current) throw new Error('the cluster is not started');
    return this.current;
  }

  /** The JetStream duplicate window the services run with. */
  get duplicateWindowMs(): number {
    return Number(this.drill.env.ORDERLY_BUS__DUPLICATE_WINDOW_MS ?? 120_000);
  }

  async start(serviceLog: string | undefined, log: (line: string) => void): Promise<void> {
    const flagsFile = join(this.workDir, 'flags.json');
    copyFileSync(join(repoRoot, 'flags/flags.json'), flagsFile);
    const shape = this.drill.topology ?? { natsNodes: 3, replicas: 2, postgresStandby: true };
    this.current = await startClusterTopology({
      dataDir: this.workDir,
      natsNodes: shape.natsNodes,
      replicas: shape.replicas,
      postgresStandby: shape.postgresStandby,
      env: { ...drillServiceSettings(this.workDir, this.admin, flagsFile), ...this.drill.env },
      ...(serviceLog ? { serviceLog } : {}),
      log: (line) => log(`  ${line}`),
    });
  }

  get gatewayUrl(): string {
    return this.topology.urls.gateway;
  }

  get natsServers(): string[] {
    return this.topology.urls.nats;
  }

  describe(): string {
    const t = this.topology;
    return `NATS ${t.nats.nodes.map((n) => `${n.name}:${n.ports.client}`).join(' ')} (streams R${t.streamReplicas}); PostgreSQL ${t.urls.postgres} → primary :${t.postgres.primary.port}, standby :${t.postgres.standby?.port ?? '—'}; ${t.options.replicas} replicas per service, gateway ${t.urls.gateway}`;
  }

  /** One query on a service's own database on the current primary (never through the proxy). */
  async sql<Row = Record<string, unknown>>(
    service: ServiceWithDatabase,
    text: string,
    values: unknown[] = [],
  ): Promise<Row[]> {
    const client = new pg.Client({
      connectionString: this.topology.postgres.primary.url.replace(
        /\/postgres$/,
        `/orderly_${service}`,
      ),
      connectionTimeoutMillis: 5000,
    });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as Row[];
    } finally {
      await client.end();
    }
  }

  stopAll(): Promise<Record<string, number | null>> {
    return this.topology.processes.stopAll();
  }

  get unexpectedExits(): readonly UnexpectedExit[] {
    return this.current?.processes.unexpectedExits ?? [];
  }

  /** Kills whatever still runs and removes the folder. */
  async close(): Promise<void> {
    if (this.current) {
      // Services were stopped gracefully by stopAll when the drill got that far; the rest goes now.
      this.current.processes.killAll();
      await this.current.kill();
    }
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
