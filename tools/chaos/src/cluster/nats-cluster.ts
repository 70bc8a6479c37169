import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { waitForPort } from '../infrastructure.js';
import { TcpProxy, type ProxyMode } from '../tcp-proxy.js';

/**
 * A NATS JetStream cluster of separate `nats-server` processes on this machine: each node has its own
 * client, cluster (route) and monitoring port and its own store directory, and reaches every other
 * node through a TCP proxy of its own (one per ordered pair), so one node can be cut off from the
 * others while its clients still reach it — a network partition, not a frozen process.
 *
 * Route gossip would let a node dial another's real cluster port when it learns of it, bypassing
 * the proxies: each node therefore advertises (`cluster.advertise`) an address nothing listens on,
 * and only the configured routes (the proxies) ever connect.
 */
export interface NatsNodePorts {
  readonly client: number;
  readonly cluster: number;
  readonly monitor: number;
}

export interface NatsClusterOptions {
  /** Folder under which each node gets `<name>/` (its store) and `<name>.conf`. */
  readonly dir: string;
  readonly nodes: readonly NatsNodePorts[];
  /** An address nobody listens on, advertised by every node so gossip creates no direct route. */
  readonly deadAdvertisePort: number;
  /** `nats-server` (default: ORDERLY_CHAOS_NATS_SERVER, /usr/sbin/nats-server, or on PATH). */
  readonly binary?: string;
  readonly clusterName?: string;
}

const defaultBinary = () =>
  process.env.ORDERLY_CHAOS_NATS_SERVER ??
  (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server');

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export class NatsNode {
  private child: ChildProcess | undefined;
  private paused = false;
  readonly log: string[] = [];

  constructor(
    readonly name: string,
    readonly ports: NatsNodePorts,
    private readonly configFile: string,
    private readonly binary: string,
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.ports.client}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  async start(): Promise<void> {
    if (this.child) return;
    const child = spawn(this.binary, ['-c', this.configFile], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => {
      this.log.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.log.length > 300) this.log.splice(0, this.log.length - 300);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', () => {
      if (this.child === child) this.child = undefined;
    });
    this.child = child;
    this.paused = false;
    await waitForPort(this.ports.client, 15_000);
  }

  /** SIGTERM (JetStream flushes and steps down) or SIGKILL (kill -9: nothing flushed). */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    if (this.paused) child.kill('SIGCONT');
    child.kill(signal);
    await exited(child);
    this.child = undefined;
  }

  /** SIGSTOP: the process freezes (no route, client or Raft traffic) until `resume`. */
  pause(): void {
    this.child?.kill('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    this.child?.kill('SIGCONT');
    this.paused = false;
  }
}

export class NatsCluster {
  readonly nodes: NatsNode[];
  /** `from->to`: the proxy node `from` dials to reach node `to`'s cluster port. */
  private readonly routeProxies = new Map<string, TcpProxy>();

  constructor(private readonly options: NatsClusterOptions) {
    const binary = options.binary ?? defaultBinary();
    mkdirSync(options.dir, { recursive: true });
    this.nodes = options.nodes.map(
      (ports, i) => new NatsNode(`n${i + 1}`, ports, join(options.dir, `n${i + 1}.conf`), binary),
    );
  }

  /** Every node's client URL (what a service's `bus.natsServers` lists, comma-separated). */
  get urls(): string[] {
    return this.nodes.map((n) => n.url);
  }

  node(name: string): NatsNode {
    const node = this.nodes.find((n) => n.name === name);
    if (!node)
      throw new Error(`no NATS node ${name} (${this.nodes.map((n) => n.name).join(', ')})`);
    return node;
  }

  /** Writes the configurations, starts the route proxies and every node, and waits for a meta leader. */
  async start(readyTimeoutMs = 60_000): Promise<void> {
    for (const from of this.nodes)
      for (const to of this.nodes) {
        if (from === to) continue;
        const proxy = new TcpProxy(`nats route ${from.name}->${to.name}`, {
          host: '127.0.0.1',
          port: to.ports.cluster,
        });
        await proxy.start();
        this.routeProxies.set(`${from.name}->${to.name}`, proxy);
      }
    for (const node of this.nodes) this.writeConfig(node);
    await Promise.all(this.nodes.map((n) => n.start()));
    await this.waitForMetaLeader(readyTimeoutMs);
  }

  private writeConfig(node: NatsNode): void {
    const store = join(this.options.dir, node.name);
    mkdirSync(store, { recursive: true });
    const routes = this.nodes
      .filter((n) => n !== node)
      .map(
        (n) => `nats-route://127.0.0.1:${this.routeProxies.get(`${node.name}->${n.name}`)!.port}`,
      );
    const config = [
      `server_name: ${node.name}`,
      `listen: 127.0.0.1:${node.ports.client}`,
      `http: 127.0.0.1:${node.ports.monitor}`,
      // JetStream's file store; 2.9 has no sync_interval option (fsync in the background, see docs/chaos.md).
      `jetstream { store_dir: ${JSON.stringify(store)} }`,
    ];
    if (this.nodes.length === 1) {
      writeFileSync(join(this.options.dir, `${node.name}.conf`), `${config.join('\n')}\n`);
      return;
    }
    config.push(
      'cluster {',
      `  name: ${this.options.clusterName ?? 'orderly'}`,
      `  listen: 127.0.0.1:${node.ports.cluster}`,
      `  advertise: 127.0.0.1:${this.options.deadAdvertisePort}`,
      // Clients keep the URLs they were given (every node's) instead of gossiped ones.
      '  no_advertise: true',
      `  routes: [${routes.join(', ')}]`,
      '}',
    );
    writeFileSync(join(this.options.dir, `${node.name}.conf`), `${config.join('\n')}\n`);
  }

  /** Cuts node `name` off from every other node (both directions); its clients still reach it. */
  cut(name: string, mode: Exclude<ProxyMode, 'pass'> = 'blackhole'): void {
    for (const [key, proxy] of this.routeProxies) {
      const [from, to] = key.split('->');
      if (from === name || to === name) proxy.setMode(mode);
    }
  }

  heal(name: string): void {
    for (const [key, proxy] of this.routeProxies) {
      const [from, to] = key.split('->');
      if (from === name || to === name) proxy.setMode('pass');
    }
  }

  /** `/jsz` of one node (its view of the meta group), or undefined when it does not answer. */
  async jsz(node: NatsNode): Promise<JszInfo | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${node.ports.monitor}/jsz`, {
        signal: AbortSignal.timeout(2000),
      });
      return (await response.json()) as JszInfo;
    } catch {
      return undefined;
    }
  }

  /** Waits until a running node reports a JetStream meta leader with every other node as a current peer. */
  async waitForMetaLeader(timeoutMs: number): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (const node of this.nodes.filter((n) => n.running)) {
        const jsz = await this.jsz(node);
        // A single server has no meta group: JetStream answering is enough.
        if (jsz && this.nodes.length === 1) return node.name;
        const meta = jsz?.meta_cluster;
        // Every other node known to the leader and current: before that, a stream with as many
        // replicas as nodes is refused ("no suitable peers for placement").
        const peers = meta?.replicas ?? [];
        if (meta?.leader && peers.length >= this.nodes.length - 1 && peers.every((r) => r.current))
          return meta.leader;
      }
      if (Date.now() > deadline)
        throw new Error(
          `NATS cluster has no JetStream meta leader after ${timeoutMs} ms\n${this.nodes.map((n) => `${n.name}: ${n.log.slice(-5).join('\n')}`).join('\n')}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /**
   * The stream's cluster as JetStream reports it (`$JS.API.STREAM.INFO.<stream>`): its leader and
   * each replica with whether it is current and how far behind. Asked through the running nodes in turn.
   */
  async streamCluster(
    stream: string,
    options: { readonly exclude?: string } = {},
  ): Promise<StreamClusterInfo> {
    const errors: string[] = [];
    for (const node of this.nodes.filter((n) => n.running && n.name !== options.exclude)) {
      let nc;
      try {
        nc = await connect({ servers: node.url, timeout: 2000, maxReconnectAttempts: 0 });
      } catch (err) {
        errors.push(`${node.name}: ${String(err)}`);
        continue;
      }
      try {
        const jsm = await jetstreamManager(nc, { timeout: 3000 });
        const info = await jsm.streams.info(stream);
        return {
          leader: info.cluster?.leader,
          replicas: (info.cluster?.replicas ?? []).map((r) => ({
            name: r.name,
            current: r.current,
            lag: r.lag ?? 0,
          })),
          numReplicas: info.config.num_replicas,
          messages: info.state.messages,
          lastSeq: info.state.last_seq,
        };
      } catch (err) {
        errors.push(`${node.name}: ${String(err)}`);
      } finally {
        await nc.close();
      }
    }
    throw new Error(`no node answered STREAM.INFO ${stream}: ${errors.join('; ')}`);
  }

  /** Waits until the stream has a leader and every replica is current (caught up). */
  async waitForStreamHealthy(stream: string, timeoutMs: number): Promise<StreamClusterInfo> {
    const deadline = Date.now() + timeoutMs;
    let last: StreamClusterInfo | string = 'not asked';
    for (;;) {
      try {
        const info = await this.streamCluster(stream);
        last = info;
        const expectedPeers = info.numReplicas - 1;
        if (
          info.leader &&
          info.replicas.length === expectedPeers &&
          info.replicas.every((r) => r.current && r.lag === 0)
        )
          return info;
      } catch (err) {
        last = String(err);
      }
      if (Date.now() > deadline)
        throw new Error(
          `stream ${stream} not healthy after ${timeoutMs} ms: ${JSON.stringify(last)}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.stop(signal).catch(() => undefined)));
    for (const proxy of this.routeProxies.values()) await proxy.close();
  }
}

export interface JszInfo {
  readonly server_id: string;
  readonly meta_cluster?: {
    readonly name?: string;
    readonly leader?: string;
    readonly cluster_size?: number;
    readonly replicas?: readonly { name: string; current: boolean; offline?: boolean }[];
  };
}

export interface StreamClusterInfo {
  readonly leader: string | undefined;
  readonly replicas: readonly { name: string; current: boolean; lag: number }[];
  readonly numReplicas: number;
  readonly messages: number;
  readonly lastSeq: number;
}
