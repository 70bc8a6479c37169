import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { databaseUrlFor } from './system.js';

/**
 * What a saga costs in round trips and hops, counted by PostgreSQL and NATS themselves, never
 * written by hand: statements from pg_stat_statements (calls of this run's databases), publishes
 * and deliveries from JetStream's stream and consumer state of this run's stream. Each is read
 * before and after a window; the figures are the differences.
 */

/** `pg_stat_statements` is usable, or why not and how to make it so. */
export type StatementCounting =
  { readonly ok: true } | { readonly ok: false; readonly reason: string };

const enableHint =
  "add pg_stat_statements to shared_preload_libraries (ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements', restart PostgreSQL: .ci/run does both) and install PostgreSQL's contrib modules";

/** Creates the extension in the `postgres` database if it can, and checks it answers. */
export async function prepareStatementCounting(postgresUrl: string): Promise<StatementCounting> {
  const client = new pg.Client({ connectionString: databaseUrlFor(postgresUrl, 'postgres') });
  try {
    await client.connect();
  } catch (error) {
    return { ok: false, reason: `cannot connect to PostgreSQL: ${String(error)}` };
  }
  try {
    const preload = await client.query<{ v: string }>(
      `SELECT current_setting('shared_preload_libraries') AS v`,
    );
    const libraries = (preload.rows[0]?.v ?? '').split(',').map((l) => l.trim());
    if (!libraries.includes('pg_stat_statements'))
      return {
        ok: false,
        reason: `pg_stat_statements is not in shared_preload_libraries ('${preload.rows[0]?.v ?? ''}'): ${enableHint}`,
      };
    await client.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    await client.query('SELECT 1 FROM pg_stat_statements LIMIT 1');
    return { ok: true };
  } catch (error) {
    return {
      ok: false,
      reason: `pg_stat_statements does not answer (${error instanceof Error ? error.message : String(error)}): ${enableHint}`,
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Statements executed so far in each of `databases` (sum of pg_stat_statements.calls by dbid). */
export async function statementCalls(
  postgresUrl: string,
  databases: readonly string[],
): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrlFor(postgresUrl, 'postgres') });
  await client.connect();
  try {
    const result = await client.query<{ datname: string; calls: string }>(
      `SELECT d.datname, coalesce(sum(s.calls), 0)::text AS calls
         FROM pg_database d LEFT JOIN pg_stat_statements s ON s.dbid = d.oid
        WHERE d.datname = ANY($1::text[])
        GROUP BY d.datname`,
      [databases],
    );
    const calls: Record<string, number> = {};
    for (const db of databases) calls[db] = 0;
    for (const row of result.rows) calls[row.datname] = Number(row.calls);
    return calls;
  } finally {
    await client.end();
  }
}

/**
 * Transactions committed so far in each of `databases` (pg_stat_database.xact_commit: every commit,
 * read-only ones included). A backend reports its counts when idle, at most a second late.
 */
export async function commitCounts(
  postgresUrl: string,
  databases: readonly string[],
): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: databaseUrlFor(postgresUrl, 'postgres') });
  await client.connect();
  try {
    const result = await client.query<{ datname: string; commits: string }>(
      `SELECT datname, xact_commit::text AS commits FROM pg_stat_database WHERE datname = ANY($1::text[])`,
      [databases],
    );
    const commits: Record<string, number> = {};
    for (const db of databases) commits[db] = 0;
    for (const row of result.rows) commits[row.datname] = Number(row.commits);
    return commits;
  } finally {
    await client.end();
  }
}

export interface BusCounters {
  /** The stream's last sequence number: every message published to it so far. */
  readonly published: number;
  /** Per durable consumer: messages delivered so far (redeliveries included), and acknowledged. */
  readonly consumers: Record<string, { delivered: number; acked: number }>;
}

/** JetStream's own counters for one stream and its consumers. */
export async function busCounters(natsUrl: string, stream: string): Promise<BusCounters> {
  const nc = await connect({ servers: natsUrl });
  try {
    const jsm = await jetstreamManager(nc);
    const info = await jsm.streams.info(stream);
    const consumers: Record<string, { delivered: number; acked: number }> = {};
    for await (const c of jsm.consumers.list(stream)) {
      consumers[c.name] = {
        delivered: Number(c.delivered.consumer_seq),
        acked: Number(c.ack_floor.consumer_seq),
      };
    }
    return { published: Number(info.state.last_seq), consumers };
  } finally {
    await nc.close();
  }
}

export interface CountersSnapshot {
  readonly statements?: Record<string, number>;
  readonly commits?: Record<string, number>;
  readonly bus?: BusCounters;
  /** Why a counter could not be read at this instant. */
  readonly errors: string[];
}

/** Reads both kinds of counters at one instant; a counter that fails is named, never guessed. */
export async function snapshotCounters(options: {
  postgresUrl: string;
  databases: readonly string[];
  statements: boolean;
  natsUrl: string;
  stream: string | undefined;
}): Promise<CountersSnapshot> {
  const errors: string[] = [];
  const [statements, commits, bus] = await Promise.all([
    options.statements
      ? statementCalls(options.postgresUrl, options.databases).catch((error: unknown) => {
          errors.push(`pg_stat_statements: ${String(error)}`);
          return undefined;
        })
      : undefined,
    commitCounts(options.postgresUrl, options.databases).catch((error: unknown) => {
      errors.push(`pg_stat_database: ${String(error)}`);
      return undefined;
    }),
    options.stream
      ? busCounters(options.natsUrl, options.stream).catch((error: unknown) => {
          errors.push(`JetStream stream ${options.stream}: ${String(error)}`);
          return undefined;
        })
      : undefined,
  ]);
  return {
    ...(statements ? { statements } : {}),
    ...(commits ? { commits } : {}),
    ...(bus ? { bus } : {}),
    errors,
  };
}

/** Differences of two snapshots: statements by database, publishes, deliveries and acks. */
export function counterDeltas(
  start: CountersSnapshot,
  end: CountersSnapshot,
): {
  statements?: Record<string, number>;
  commits?: Record<string, number>;
  published?: number;
  delivered?: number;
  acked?: number;
} {
  const out: ReturnType<typeof counterDeltas> = {};
  if (start.statements && end.statements) {
    out.statements = {};
    for (const [db, calls] of Object.entries(end.statements))
      out.statements[db] = calls - (start.statements[db] ?? 0);
  }
  if (start.commits && end.commits) {
    out.commits = {};
    for (const [db, commits] of Object.entries(end.commits))
      out.commits[db] = commits - (start.commits[db] ?? 0);
  }
  if (start.bus && end.bus) {
    out.published = end.bus.published - start.bus.published;
    let delivered = 0;
    let acked = 0;
    for (const [name, c] of Object.entries(end.bus.consumers)) {
      const before = start.bus.consumers[name];
      delivered += c.delivered - (before?.delivered ?? 0);
      acked += c.acked - (before?.acked ?? 0);
    }
    out.delivered = delivered;
    out.acked = acked;
  }
  return out;
}
