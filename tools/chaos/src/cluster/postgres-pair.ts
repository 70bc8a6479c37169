import { execFile } from 'node:child_process';
import {
  appendFileSync,
  chmodSync,
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { assertPostgresUserCanReach } from '@orderly/platform';
import { waitForPort } from '../infrastructure.js';
import { TcpProxy } from '../tcp-proxy.js';

/**
 * PostgreSQL 15 as production runs it: a primary and a streaming-replication standby, made with the
 * machine's own binaries (initdb, pg_basebackup -R, pg_ctl), and one address in front (a TCP proxy)
 * that the services use and that a failover moves to the promoted standby.
 *
 * Replication is synchronous (`synchronous_standby_names = '*'`, `synchronous_commit = on`): a COMMIT
 * returns only once the standby has flushed its WAL, so promoting the standby after the primary dies
 * loses no committed transaction. After a failover the new primary has no standby until one is
 * rebuilt, so it commits alone meanwhile (synchronous_standby_names cleared) — available, but a
 * second loss in that window would lose what it committed; `rebuildStandby` closes the window.
 *
 * As root, PostgreSQL (which refuses root) runs as the `postgres` system user.
 */
export interface PostgresPairOptions {
  readonly dir: string;
  readonly ports: readonly [number, number];
  /** The address services use (0: any free port). */
  readonly proxyPort: number;
  readonly binDir?: string;
  readonly maxConnections?: number;
  /** A synchronous streaming standby (default true); without it the primary commits alone. */
  readonly standby?: boolean;
}

const defaultBinDir = '/usr/lib/postgresql/15/bin';

interface Account {
  readonly uid: number;
  readonly gid: number;
}

function postgresAccount(): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === 'postgres') return { uid: Number(uid), gid: Number(gid) };
  }
  throw new Error('running as root, but there is no "postgres" system user to run PostgreSQL as');
}

export class PostgresInstance {
  constructor(
    readonly name: string,
    readonly port: number,
    readonly dataDir: string,
    private readonly pair: PostgresPair,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  get running(): boolean {
    const pid = this.postmasterPid();
    if (pid === undefined) return false;
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  }

  postmasterPid(): number | undefined {
    const file = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(file)) return undefined;
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return pid > 0 ? pid : undefined;
  }

  async start(): Promise<void> {
    await this.pair.run('pg_ctl', [
      '-D',
      this.dataDir,
      '-l',
      join(this.dataDir, '..', `${this.name}.log`),
      '-o',
      `-p ${this.port} -k ${this.dataDir}`,
      '-w',
      '-t',
      '60',
      'start',
    ]);
    await waitForPort(this.port, 30_000);
  }

  /** `fast`: open transactions abort, everything committed stays (a clean stop). */
  async stop(): Promise<void> {
    if (!this.running) return;
    await this.pair.run('pg_ctl', ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
  }

  /** kill -9 of the postmaster (its backends notice and exit): a crashed server. */
  async kill(): Promise<void> {
    const pid = this.postmasterPid();
    if (pid === undefined) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      return;
    }
    while (this.running) await new Promise((r) => setTimeout(r, 20));
  }

  async query<Row = Record<string, unknown>>(text: string, values: unknown[] = []): Promise<Row[]> {
    const client = new pg.Client({ connectionString: this.url, connectionTimeoutMillis: 5000 });
    await client.connect();
    try {
      return (await client.query(text, values)).rows as Row[];
    } finally {
      await client.end();
    }
  }
}

export interface FailoverTimings {
  /** kill -9 of the primary → the standby accepts writes (pg_promote). */
  readonly promotedAfterMs: number;
  /** kill -9 → the proxy sends new connections to the new primary. */
  readonly movedAfterMs: number;
  /** The primary's last WAL position the standby had replayed when promoted (for the report). */
  readonly detail: string;
}

export class PostgresPair {
  readonly proxy: TcpProxy;
  private readonly binDir: string;
  private readonly account: Account | undefined;
  private instances: [PostgresInstance, PostgresInstance];
  private standbyUp = false;

  constructor(private readonly options: PostgresPairOptions) {
    this.binDir = options.binDir ?? defaultBinDir;
    this.account = postgresAccount();
    const [a, b] = options.ports;
    this.instances = [
      new PostgresInstance('pg-a', a, join(options.dir, 'pg-a'), this),
      new PostgresInstance('pg-b', b, join(options.dir, 'pg-b'), this),
    ];
    this.proxy = new TcpProxy(
      'postgres primary',
      { host: '127.0.0.1', port: a },
      options.proxyPort,
    );
  }

  get primary(): PostgresInstance {
    return this.instances[0];
  }

  get standby(): PostgresInstance | undefined {
    return this.standbyUp ? this.instances[1] : undefined;
  }

  /** The one address the services use: whichever server is primary. */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.proxy.port}/postgres`;
  }

  /** Runs one of the PostgreSQL programs (as the postgres user when root). */
  run(program: string, args: readonly string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        join(this.binDir, program),
        args,
        {
          ...(this.account ? { uid: this.account.uid, gid: this.account.gid } : {}),
          env: { ...process.env, LC_ALL: 'C.UTF-8', PGUSER: 'postgres' },
          timeout: 120_000,
        },
        (error, stdout, stderr) =>
          error
            ? reject(
                new Error(`${program} ${args.join(' ')} failed: ${stderr || stdout}`, {
                  cause: error,
                }),
              )
            : resolve(stdout),
      );
    });
  }

  private ownFolder(path: string): void {
    mkdirSync(path, { recursive: true });
    if (this.account) {
      chownSync(path, this.account.uid, this.account.gid);
      chmodSync(path, 0o700);
    }
  }

  /** initdb, the primary, a base backup as standby, both started, the proxy in front. */
  async start(): Promise<void> {
    mkdirSync(this.options.dir, { recursive: true });
    if (this.account) {
      chmodSync(this.options.dir, 0o755);
      chownSync(this.options.dir, this.account.uid, this.account.gid);
    }
    assertPostgresUserCanReach({
      'its programs in': this.binDir,
      'its data folder': this.options.dir,
    });
    const primary = this.primary;
    const withStandby = this.options.standby ?? true;
    this.ownFolder(primary.dataDir);
    await this.run('initdb', [
      '-D',
      primary.dataDir,
      '-U',
      'postgres',
      '--auth=trust',
      '-E',
      'UTF8',
      '--no-sync',
    ]);
    const settings = [
      "listen_addresses = '127.0.0.1'",
      `max_connections = ${this.options.maxConnections ?? 300}`,
      'wal_level = replica',
      'max_wal_senders = 5',
      "wal_keep_size = '512MB'",
      'hot_standby = on',
      // A COMMIT waits until the standby flushed it: a promoted standby has every committed row.
      `synchronous_standby_names = '${withStandby ? '*' : ''}'`,
      'synchronous_commit = on',
      'shared_buffers = 64MB',
    ];
    appendFileSync(
      join(primary.dataDir, 'postgresql.conf'),
      `\n# Orderly cluster rehearsal\n${settings.join('\n')}\n`,
    );
    await primary.start();
    if (withStandby) await this.createStandby(this.instances[1], primary);
    await this.proxy.start();
  }

  /** A fresh base backup of `from` in `standby`'s folder (-R: it follows `from`), started and streaming. */
  private async createStandby(standby: PostgresInstance, from: PostgresInstance): Promise<void> {
    rmSync(standby.dataDir, { recursive: true, force: true });
    this.ownFolder(standby.dataDir);
    await this.run('pg_basebackup', [
      '-h',
      '127.0.0.1',
      '-p',
      String(from.port),
      '-U',
      'postgres',
      '-D',
      standby.dataDir,
      '-R',
      '-X',
      'stream',
      '-c',
      'fast',
    ]);
    await standby.start();
    await this.waitStreaming(from, 60_000);
    await from.query("ALTER SYSTEM SET synchronous_standby_names = '*'");
    await from.query('SELECT pg_reload_conf()');
    this.standbyUp = true;
  }

  private async waitStreaming(primary: PostgresInstance, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rows = await primary
        .query<{ state: string }>('SELECT state FROM pg_stat_replication')
        .catch(() => []);
      if (rows.some((r) => r.state === 'streaming')) return;
      if (Date.now() > deadline)
        throw new Error(`no standby streams from ${primary.name} after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /**
   * The primary dies (kill -9) and the standby takes over: promoted, committing alone, and the
   * proxy's address moved to it (open connections reset, so clients reconnect there).
   */
  async failover(): Promise<FailoverTimings> {
    const [old, next] = this.instances;
    if (!this.standbyUp) throw new Error('no standby to promote');
    const started = Date.now();
    await old.kill();
    this.proxy.setMode('refuse');
    const [lsn] = await next.query<{ lsn: string }>('SELECT pg_last_wal_replay_lsn()::text AS lsn');
    await next.query('SELECT pg_promote(true, 60)');
    // No standby yet: a synchronous commit would wait forever.
    await next.query("ALTER SYSTEM SET synchronous_standby_names = ''");
    await next.query('SELECT pg_reload_conf()');
    const promotedAfterMs = Date.now() - started;
    this.instances = [next, old];
    this.standbyUp = false;
    this.proxy.setTargets([{ host: '127.0.0.1', port: next.port }]);
    this.proxy.setMode('pass');
    return {
      promotedAfterMs,
      movedAfterMs: Date.now() - started,
      detail: `standby had replayed WAL up to ${lsn?.lsn ?? '?'}`,
    };
  }

  /** The dead primary's folder becomes a new standby of the new primary (base backup), synchronous again. */
  async rebuildStandby(): Promise<number> {
    const started = Date.now();
    await this.createStandby(this.instances[1], this.instances[0]);
    return Date.now() - started;
  }

  async stop(): Promise<void> {
    await this.proxy.close();
    for (const instance of [...this.instances].reverse())
      await instance.stop().catch(() => instance.kill());
  }

  /** Last resort (an interrupted run): both servers killed. */
  async kill(): Promise<void> {
    await this.proxy.close().catch(() => undefined);
    for (const instance of this.instances) await instance.kill().catch(() => undefined);
  }
}
