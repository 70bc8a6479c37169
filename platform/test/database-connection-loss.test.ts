import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import pg from 'pg';
import { Database, createLogger, databaseUrl } from '../src/index.js';
import { ensureDatabase } from '../src/db/index.js';
import { dropTestDatabase, uniqueName } from '../src/testing/index.js';

/**
 * Regression for a crash the chaos drill found: PostgreSQL terminating connections (a restart, a
 * failover, an operator) while a transaction held one between two statements made the pg client
 * emit an unhandled 'error' and killed the whole service process.
 */
const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = uniqueName('orderly_test_platform_connloss');
let db: Database;

async function terminateBackend(pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: databaseUrl(serverUrl, name) });
  await admin.connect();
  try {
    await admin.query('SELECT pg_terminate_backend($1)', [pid]);
  } finally {
    await admin.end();
  }
}

beforeAll(async () => {
  await ensureDatabase(serverUrl, name, 5000);
  db = new Database(
    {
      url: serverUrl,
      database: name,
      poolSize: 2,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5000,
      idleTimeoutMs: 10_000,
      applicationName: 'test',
    },
    createLogger({ service: 'test', level: 'silent' }),
  );
});
afterAll(async () => {
  await db?.close();
  await dropTestDatabase(serverUrl, name);
});

describe('database connection loss', () => {
  test('when the server terminates the connection of an open transaction between statements, then the transaction fails and the process keeps serving', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    process.on('uncaughtException', onUncaught);
    try {
      const outcome = await db
        .transaction(async (tx) => {
          const { rows } = await tx.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
          await terminateBackend(rows[0]!.pid);
          // The connection dies here, while nothing runs on it.
          await new Promise((resolve) => setTimeout(resolve, 300));
          await tx.query('SELECT 1');
        })
        .then(
          () => 'committed',
          () => 'failed',
        );
      expect(outcome).toBe('failed');
      expect(uncaught).toEqual([]);
      const { rows } = await db.query<{ n: number }>('SELECT 1 AS n');
      expect(rows[0]?.n).toBe(1);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });
});
