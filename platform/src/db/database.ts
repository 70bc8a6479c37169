import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Tracer } from '@opentelemetry/api';
import pg from 'pg';
import { AppError, deadlineExceeded } from '../errors/index.js';
import { embeddedFile, embeddedFolder } from '../packaging/embedded-files.js';
import type { Logger } from '../log/index.js';
import { PreparedStatements } from './prepared-statements.js';
import { StatementSpans } from './statement-spans.js';

/**
 * PostgreSQL access for one service's own database: a pool, transactions, migrations,
 * and deadlines that reach the server (statement_timeout) and cancel running queries when the
 * caller's AbortSignal fires.
 */

export interface QueryResultRows<Row> {
  readonly rows: Row[];
  readonly rowCount: number;
}

/** Anything that runs SQL: the pool or an open transaction. */
export interface Sql {
  query<Row = Record<string, unknown>>(
    text: string,
    values?: readonly unknown[],
  ): Promise<QueryResultRows<Row>>;
  /**
   * Calls `callback` once what was written through this Sql so far is committed: after COMMIT for
   * a transaction — never after a ROLLBACK, nor when COMMIT fails — and at once for the pool,
   * whose statements each commit on their own. Callbacks run in the order they were registered,
   * synchronously, so they must be cheap (the outbox uses it to hand committed rows to the relay);
   * one that throws is logged and does not fail the commit. Optional: an Sql without it gives no
   * such notice.
   */
  afterCommit?(callback: () => void): void;
}

export interface DeadlineOptions {
  /** Aborting cancels the statement that is running on the server. */
  readonly signal?: AbortSignal | undefined;
  /** Upper bound for each statement, applied on the server. */
  readonly timeoutMs?: number | undefined;
}

export interface TransactionOptions extends DeadlineOptions {
  /**
   * A parameterless statement sent with BEGIN, in the same round trip; its rows are handed to the
   * work. For the platform's own fixed-shape first statements (the inbox insert); values in it must
   * be escaped with `sqlLiteral`.
   */
  readonly opening?: string | undefined;
}

/** A string as an SQL literal (quotes and backslashes escaped), for `TransactionOptions.opening`. */
export const sqlLiteral = (value: string): string => pg.escapeLiteral(value);

export interface DatabaseOptions {
  /** Server URL; its path (database name) is replaced by `database`. */
  readonly url: string;
  readonly database: string;
  readonly poolSize: number;
  readonly statementTimeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly applicationName: string;
}

export interface DatabaseConnections {
  readonly open: number;
  readonly idle: number;
  readonly waiting: number;
  /** `postgres.poolSize`. */
  readonly max: number;
}

export function databaseUrl(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

/** Creates the service's database when it does not exist yet (first start, tests). */
export async function ensureDatabase(
  serverUrl: string,
  database: string,
  connectTimeoutMs: number,
): Promise<void> {
  const client = new pg.Client({
    connectionString: databaseUrl(serverUrl, 'postgres'),
    connectionTimeoutMillis: connectTimeoutMs,
  });
  // A server restart while this short-lived client is connected emits 'error' on it; with no
  // listener that crashes the process (seen in the long drill). The pending query fails instead,
  // and the start-up wait retries.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (cause) {
    // The server answered and refused us (28xxx: role or password, 3D000: no such database): a
    // configuration error, which waiting cannot fix. Anything else means it could not be reached.
    const state = (cause as { code?: unknown } | undefined)?.code;
    if (typeof state === 'string' && /^(28...|3D000)$/.test(state)) {
      await client.end().catch(() => {});
      throw new AppError(
        'DATABASE_LOGIN_REFUSED',
        `PostgreSQL at ${redactUrl(serverUrl)} refused the connection (${state})`,
        { kind: 'invalid', cause },
      );
    }
    throw new AppError(
      'DATABASE_UNREACHABLE',
      `cannot connect to PostgreSQL at ${redactUrl(serverUrl)}`,
      {
        kind: 'unavailable',
        cause,
      },
    );
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [
      database,
    ]);
    if (rowCount === 0) {
      await client
        .query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`)
        .catch((error: unknown) => {
          // Another process created it between our check and our create (two workers or replicas
          // starting together): 42P04 duplicate_database, or 23505 unique_violation on
          // pg_database_datname_index when the two CREATE DATABASE statements race in the catalog.
          const state = (error as { code?: string }).code;
          if (state !== '42P04' && state !== '23505') throw error;
        });
    }
  } finally {
    await client.end();
  }
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable url)';
  }
}

export class Database implements Sql {
  readonly pool: pg.Pool;
  private readonly statements = new PreparedStatements();
  private readonly spans: StatementSpans | undefined;

  /** With a `tracer`, every statement sent inside a sampled trace gets a span (StatementSpans). */
  constructor(
    private readonly options: DatabaseOptions,
    private readonly log: Logger,
    tracer?: Tracer,
  ) {
    this.spans = tracer && new StatementSpans(tracer, options);
    this.pool = new pg.Pool({
      connectionString: databaseUrl(options.url, options.database),
      max: options.poolSize,
      connectionTimeoutMillis: options.connectTimeoutMs,
      idleTimeoutMillis: options.idleTimeoutMs,
      statement_timeout: options.statementTimeoutMs,
      application_name: options.applicationName,
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    this.pool.on('error', (error) =>
      this.log.warn({ err: error }, 'idle database connection failed'),
    );
  }

  get name(): string {
    return this.options.database;
  }

  /** A statement through the pool commits on its own: by the time it returns, it has. */
  afterCommit(callback: () => void): void {
    this.runAfterCommit([callback]);
  }

  async query<Row = Record<string, unknown>>(
    text: string,
    values?: readonly unknown[],
    options: DeadlineOptions = {},
  ): Promise<QueryResultRows<Row>> {
    if (!options.signal && options.timeoutMs === undefined) {
      const result = await this.traced(text, values !== undefined && values.length > 0, () =>
        this.pool.query(this.statements.config(text, values)),
      );
      return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
    }
    return this.transaction((tx) => tx.query<Row>(text, values), options);
  }

  /**
   * Runs `work` in one transaction. Commits when it resolves, rolls back when it throws.
   * The deadline covers every statement; it is no longer watched once COMMIT is sent, so a
   * commit is never cancelled half-way from the caller's side.
   */
  async transaction<T>(
    work: (tx: Sql, opening: QueryResultRows<Record<string, unknown>> | undefined) => Promise<T>,
    options: TransactionOptions = {},
  ): Promise<T> {
    const { signal } = options;
    if (signal?.aborted) throw deadlineExceeded('transaction', signal.reason);
    const client = await this.pool.connect();
    const unwatch = this.cancelOnAbort(client, signal);
    let broken = false;
    // pg-pool listens for errors only on idle clients: a connection that dies while checked out,
    // between two statements, would emit an unhandled 'error' and crash the process (found by the
    // chaos drill's PostgreSQL connection cut). The next statement fails; the client is discarded.
    const onConnectionError = (error: Error) => {
      broken = true;
      this.log.warn({ err: error }, 'database connection lost during a transaction');
    };
    client.on('error', onConnectionError);
    try {
      const timeout =
        options.timeoutMs === undefined
          ? ''
          : `; SET LOCAL statement_timeout = ${Math.max(1, Math.floor(options.timeoutMs))}`;
      const beginText =
        options.opening === undefined ? `BEGIN${timeout}` : `BEGIN${timeout}; ${options.opening}`;
      const begun = (await this.traced(
        beginText,
        options.opening === undefined,
        () => client.query(beginText) as Promise<unknown>,
      )) as pg.QueryResult | pg.QueryResult[];
      // A multi-statement query answers one result per statement; the opening's is the last.
      const last = Array.isArray(begun) ? begun[begun.length - 1] : begun;
      const opening =
        options.opening === undefined || last === undefined
          ? undefined
          : { rows: last.rows as Record<string, unknown>[], rowCount: last.rowCount ?? 0 };
      let afterCommit: (() => void)[] | undefined;
      const tx: Sql = {
        query: async <Row>(text: string, values?: readonly unknown[]) => {
          const result = await this.traced(text, values !== undefined && values.length > 0, () =>
            client.query(this.statements.config(text, values)),
          );
          return { rows: result.rows as Row[], rowCount: result.rowCount ?? 0 };
        },
        afterCommit: (callback) => {
          (afterCommit ??= []).push(callback);
        },
      };
      const result = await work(tx, opening);
      unwatch();
      await this.traced('COMMIT', true, () => client.query('COMMIT'));
      if (afterCommit) this.runAfterCommit(afterCommit);
      return result;
    } catch (error) {
      unwatch();
      await this.traced('ROLLBACK', true, () => client.query('ROLLBACK')).catch(() => {
        broken = true;
      });
      if (signal?.aborted) throw deadlineExceeded('database transaction', error);
      throw error;
    } finally {
      client.removeListener('error', onConnectionError);
      client.release(broken);
    }
  }

  /** Sends a statement inside its span when statements are traced. */
  private traced<T>(text: string, fixedText: boolean, send: () => Promise<T>): Promise<T> {
    return this.spans ? this.spans.run(text, fixedText, send) : send();
  }

  /** The commit happened: a callback that throws is logged, never reported as the commit failing. */
  private runAfterCommit(callbacks: readonly (() => void)[]): void {
    for (const callback of callbacks) {
      try {
        callback();
      } catch (error) {
        this.log.error({ err: error }, 'after-commit callback failed');
      }
    }
  }

  /** Asks the server to cancel whatever `client` is running when `signal` aborts. */
  private cancelOnAbort(client: pg.PoolClient, signal: AbortSignal | undefined): () => void {
    if (!signal) return () => {};
    const processId = (client as unknown as { processID?: number }).processID;
    const onAbort = () => {
      if (processId === undefined) return;
      this.pool.query('SELECT pg_cancel_backend($1)', [processId]).catch((error: unknown) => {
        this.log.warn({ err: error }, 'could not cancel a query after its deadline');
      });
    };
    signal.addEventListener('abort', onAbort, { once: true });
    return () => signal.removeEventListener('abort', onAbort);
  }

  /**
   * Applies `*.sql` files from each folder in name order, once each, under an advisory lock so
   * that several replicas starting together do not race.
   */
  async migrate(folders: readonly { scope: string; path: string }[]): Promise<string[]> {
    const applied: string[] = [];
    await this.transaction(async (tx) => {
      await tx.query("SELECT pg_advisory_xact_lock(hashtext('orderly.migrations'))");
      await tx.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (name text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())',
      );
      const done = new Set(
        (await tx.query<{ name: string }>('SELECT name FROM schema_migrations')).rows.map(
          (r) => r.name,
        ),
      );
      for (const folder of folders) {
        // A bundle carries its migrations inside itself (packaging/embedded-files).
        const files = (embeddedFolder(folder.path) ?? (await readdir(folder.path)))
          .filter((f) => f.endsWith('.sql'))
          .sort();
        for (const file of files) {
          const name = `${folder.scope}/${file}`;
          if (done.has(name)) continue;
          await tx.query(
            embeddedFile(join(folder.path, file)) ??
              (await readFile(join(folder.path, file), 'utf8')),
          );
          await tx.query('INSERT INTO schema_migrations (name) VALUES ($1)', [name]);
          applied.push(name);
        }
      }
    });
    if (applied.length > 0)
      this.log.info({ database: this.name, migrations: applied }, 'migrations applied');
    return applied;
  }

  async ping(options: DeadlineOptions = {}): Promise<void> {
    await this.query('SELECT 1', [], options);
  }

  /** The pool's connections now: open (idle or checked out), idle, and callers waiting for one. */
  connections(): DatabaseConnections {
    return {
      open: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
      max: this.options.poolSize,
    };
  }

  /** A dedicated connection that calls `onNotify` for each NOTIFY on `channel`; reconnects on failure. */
  listen(channel: string, onNotify: () => void, retryMs: number): { close(): Promise<void> } {
    let client: pg.Client | undefined;
    let closed = false;
    let retryTimer: NodeJS.Timeout | undefined;
    const connect = async () => {
      const next = new pg.Client({
        connectionString: databaseUrl(this.options.url, this.options.database),
        connectionTimeoutMillis: this.options.connectTimeoutMs,
      });
      next.on('notification', () => onNotify());
      next.on('error', (error) => {
        this.log.warn({ err: error, channel }, 'listen connection failed, reconnecting');
        void next.end().catch(() => {});
        scheduleReconnect();
      });
      try {
        await next.connect();
        await next.query(`LISTEN ${pg.escapeIdentifier(channel)}`);
        if (closed) return void (await next.end());
        client = next;
        onNotify(); // catch up on anything committed while we were not listening
      } catch (error) {
        this.log.warn({ err: error, channel }, 'cannot listen, retrying');
        await next.end().catch(() => {});
        scheduleReconnect();
      }
    };
    const scheduleReconnect = () => {
      if (closed || retryTimer) return;
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        void connect();
      }, retryMs);
      retryTimer.unref();
    };
    void connect();
    return {
      close: async () => {
        closed = true;
        if (retryTimer) clearTimeout(retryTimer);
        await client?.end().catch(() => {});
      },
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}
