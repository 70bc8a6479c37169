import { connect, createServer, type Server, type Socket } from 'node:net';

/**
 * A small TCP proxy for tests that cut a dependency's link (tools/chaos has the drill's own):
 * `pass` forwards, `refuse` resets every connection (nothing listens), `blackhole` accepts and never
 * moves a byte (a partition, a firewall DROP). Switching to `pass` opens held links to the target.
 */
export type LinkMode = 'pass' | 'refuse' | 'blackhole';

export class TestProxy {
  private readonly sockets = new Set<Socket>();
  private readonly held = new Set<Socket>();
  private readonly links = new Map<Socket, Socket>();
  private server: Server | undefined;
  port = 0;

  constructor(
    private readonly target: { host: string; port: number },
    private mode: LinkMode = 'pass',
  ) {}

  static forUrl(url: string, mode: LinkMode): TestProxy {
    const parsed = new URL(url);
    return new TestProxy({ host: parsed.hostname, port: Number(parsed.port) }, mode);
  }

  /** `url` with its host and port replaced by the proxy's. */
  url(url: string): string {
    const parsed = new URL(url);
    parsed.hostname = '127.0.0.1';
    parsed.port = String(this.port);
    return parsed.toString().replace(/\/$/, '');
  }

  async start(): Promise<this> {
    const server = createServer((client) => this.accept(client));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.port = (server.address() as { port: number }).port;
    return this;
  }

  setMode(mode: LinkMode): void {
    this.mode = mode;
    if (mode === 'refuse') for (const socket of this.sockets) socket.resetAndDestroy();
    // Open links stop moving bytes too; unpiped as well as paused (pipe would resume on 'drain').
    if (mode === 'blackhole') {
      for (const [client, upstream] of this.links) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        client.pause();
        upstream.pause();
      }
    }
    if (mode === 'pass') {
      for (const [client, upstream] of this.links) {
        client.pipe(upstream);
        upstream.pipe(client);
      }
      for (const client of [...this.held]) this.forward(client);
    }
  }

  private accept(client: Socket): void {
    this.sockets.add(client);
    client.on('error', () => client.destroy());
    client.on('close', () => {
      this.sockets.delete(client);
      this.held.delete(client);
    });
    if (this.mode === 'refuse') client.resetAndDestroy();
    else if (this.mode === 'blackhole') {
      client.pause();
      this.held.add(client);
    } else this.forward(client);
  }

  private forward(client: Socket): void {
    this.held.delete(client);
    const upstream = connect(this.target.port, this.target.host);
    this.sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    upstream.on('close', () => {
      this.sockets.delete(upstream);
      client.destroy();
    });
    this.links.set(client, upstream);
    client.on('close', () => {
      this.links.delete(client);
      upstream.destroy();
    });
    client.pipe(upstream);
    upstream.pipe(client);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) =>
      this.server ? this.server.close(() => resolve()) : resolve(),
    );
  }
}
