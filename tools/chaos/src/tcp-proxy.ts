import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy the drill puts between one service and one dependency (PostgreSQL or NATS), so it
 * can cut that link alone:
 * - `pass`: forwards both ways;
 * - `refuse`: resets every open connection and refuses new ones (a crashed peer, a firewall REJECT);
 * - `blackhole`: stops moving bytes — open connections hang, new ones are accepted but never reach
 *   the dependency (a partition, a firewall DROP). On heal the held bytes flow again, as TCP
 *   retransmission would deliver them after a short partition.
 */
export type ProxyMode = 'pass' | 'refuse' | 'blackhole';

interface Link {
  readonly client: Socket;
  upstream: Socket | undefined;
}

export class TcpProxy {
  private mode: ProxyMode = 'pass';
  private readonly links = new Set<Link>();
  private server: Server | undefined;
  port = 0;

  constructor(
    readonly name: string,
    private readonly target: { host: string; port: number },
  ) {}

  async start(): Promise<number> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
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

  setMode(mode: ProxyMode): void {
    this.mode = mode;
    for (const link of [...this.links]) {
      if (mode === 'refuse') this.drop(link);
      else if (mode === 'blackhole') this.hold(link);
      else this.release(link);
    }
  }

  private accept(client: Socket): void {
    if (this.mode === 'refuse') {
      client.resetAndDestroy();
      return;
    }
    const link: Link = { client, upstream: undefined };
    this.links.add(link);
    client.on('error', () => this.drop(link));
    client.on('close', () => this.drop(link));
    if (this.mode === 'blackhole') client.pause();
    else this.openUpstream(link);
  }

  private openUpstream(link: Link): void {
    const upstream = connect(this.target.port, this.target.host);
    link.upstream = upstream;
    upstream.on('error', () => this.drop(link));
    upstream.on('close', () => this.drop(link));
    link.client.pipe(upstream);
    upstream.pipe(link.client);
    if (this.mode === 'blackhole') this.hold(link);
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
    if (!link.upstream) return this.openUpstream(link);
    link.client.pipe(link.upstream);
    link.upstream.pipe(link.client);
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
