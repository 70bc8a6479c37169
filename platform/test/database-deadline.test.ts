import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Database, createLogger, isDeadlineExceeded } from '../src/index.js';
import { ensureDatabase } from '../src/db/index.js';
import { dropTestDatabase, uniqueName } from '../src/testing/index.js';

const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = uniqueName('orderly_test_platform_db');
let db: Database;

beforeAll(async () => {
  await ensureDatabase(serverUrl, name, 5000);
  db = new Database(
    {
      url: serverUrl,
      database: name,
      poolSize: 3,
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

describe('database deadlines', () => {
  test("when the caller's signal fires, then the running statement is cancelled on the server", async () => {
    const controller = new AbortController();
    const started = Date.now();
    setTimeout(() => controller.abort(), 100);
    const error = await db
      .transaction((tx) => tx.query('SELECT pg_sleep(5)'), { signal: controller.signal })
      .catch((e: unknown) => e);
    expect(isDeadlineExceeded(error)).toBe(true);
    // The server really stopped: the connection is free again well before pg_sleep would end.
    expect(Date.now() - started).toBeLessThan(4000);
    const { rows } = await db.query<{ n: number }>('SELECT 1 AS n');
    expect(rows[0]?.n).toBe(1);
  });

  test('when the time left is shorter than a statement, then statement_timeout stops it', async () => {
    const error = await db
      .transaction((tx) => tx.query('SELECT pg_sleep(5)'), { timeoutMs: 100 })
      .catch((e: unknown) => e);
    expect(isDeadlineExceeded(error)).toBe(true);
  });

  test('when a transaction throws, then nothing it wrote is kept', async () => {
    await db.query('CREATE TABLE IF NOT EXISTS things (id int primary key)');
    await db
      .transaction(async (tx) => {
        await tx.query('INSERT INTO things VALUES (1)');
        throw new Error('changed my mind');
      })
      .catch(() => undefined);
    expect((await db.query('SELECT * FROM things')).rowCount).toBe(0);
  });
});
