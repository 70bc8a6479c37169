import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy the drill puts between one service and one dependency (PostgreSQL or NATS), so it
 * can cut that link alone:
 * - `pass`: forwards both ways;
 * - `refuse`: resets every open connection and refuses new ones (a crashed peer, a firewall REJECT);
 * - `blackhole`: stops moving bytes — open connections hang, new ones are accepted but never reach
 *   the dependency (a partition, a firewall DROP). On heal the held bytes flow again, as TCP
 *   retransmission would deliver them after a short partition.
 *
 * With several targets it is also a balancer (what a Kubernetes Service does for replicas): each new
 * connection goes to the next target in turn, and to the one after when a target refuses it.
 * `setTargets` moves new connections elsewhere (a PostgreSQL failover moves the primary's address).
 */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

export interface ProxyTarget {
  readonly host: string;
  readonly port: number;
}

const isTargetList = (t: ProxyTarget | readonly ProxyTarget[]): t is readonly ProxyTarget[] =>
  Array.isArray(t);

interface Link {
  readonly client: Socket;
  upstream: Socket | undefined;
  /** The upstream connection is established (until then the client's bytes wait, paused). */
  connected: boolean;
}

export class TcpProxy {
  private mode: ProxyMode = 'pass';
  private readonly links = new Set<Link>();
  private server: Server | undefined;
  private targets: ProxyTarget[];
  private cursor = 0;
  port = 0;

  constructor(
    readonly name: string,
    target: ProxyTarget | readonly ProxyTarget[],
    /** The port to listen on; 0 (default) takes a free one. */
    private readonly listenPort = 0,
  ) {
    this.targets = isTargetList(target) ? [...target] : [target];
  }

  async start(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as { port: number }).port;
    return this.port;
  }

  get currentMode(): ProxyMode {
    return this.mode;
  }

  get connections(): number {
    return this.links.size;
  }

  get currentTargets(): readonly ProxyTarget[] {
    return this.targets;
  }

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    for (const link of [...this.links]) {
      if (mode === 'refuse') this.drop(link);
      else if (mode === 'blackhole') this.hold(link);
      else this.release(link);
    }
  }

  /** New connections go to these targets; open ones stay where they are (see `dropConnections`). */
  setTargets(targets: readonly ProxyTarget[]): void {
    if (targets.length === 0) throw new Error(`${this.name}: a proxy needs at least one target`);
    this.targets = [...targets];
    this.cursor = 0;
  }

  /** Resets every open connection (their clients reconnect, to the current targets). */
  dropConnections(): void {
    for (const link of [...this.links]) this.drop(link);
  }

  private accept(client: Socket): void {
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: undefined, connected: false };
    this.links.add(link);
    client.on('error', () => this.drop(link));
    client.on('close', () => this.drop(link));
    client.pause();
    if (this.mode !== 'blackhole') this.openUpstream(link, 0);
  }

  private openUpstream(link: Link, attempt: number): void {
    const target = this.targets[this.cursor++ % this.targets.length]!;
    const upstream = connect(target.port, target.host);
    link.upstream = upstream;
    upstream.once('connect', () => {
      if (link.upstream !== upstream) return;
      link.connected = true;
      if (this.mode === 'pass') this.pipe(link);
      else this.hold(link);
    });
    upstream.on('error', () => {
      if (link.upstream !== upstream) return;
      // Refused before any byte moved: the next target may take it (a replica that is down).
      if (!link.connected && attempt + 1 < this.targets.length && this.links.has(link)) {
        upstream.destroy();
        this.openUpstream(link, attempt + 1);
        return;
      }
      this.drop(link);
    });
    upstream.on('close', () => {
      if (link.upstream === upstream) this.drop(link);
    });
  }

  private pipe(link: Link): void {
    if (!link.upstream) return;
    link.client.pipe(link.upstream);
    link.upstream.pipe(link.client);
  }

  // Unpiped as well as paused: pipe() would resume a paused source on the next 'drain'.
  private hold(link: Link): void {
    if (link.upstream) {
      link.client.unpipe(link.upstream);
      link.upstream.unpipe(link.client);
      link.upstream.pause();
    }
    link.client.pause();
  }

  private release(link: Link): void {
    if (!link.upstream) return this.openUpstream(link, 0);
    if (link.connected) this.pipe(link);
  }

  private drop(link: Link): void {
    if (!this.links.delete(link)) return;
    if (!link.client.destroyed) link.client.resetAndDestroy();
    if (link.upstream && !link.upstream.destroyed) link.upstream.resetAndDestroy();
  }

  async close(): Promise<void> {
    for (const link of [...this.links]) this.drop(link);
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
