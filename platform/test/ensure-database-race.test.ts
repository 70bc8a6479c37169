import { afterEach, describe, expect, test } from 'vitest';
import { ensureDatabase } from '../src/db/index.js';
import { dropTestDatabase, uniqueName } from '../src/testing/index.js';

/**
 * Regression from CI: two workers of one service started together and both created its database;
 * the loser failed with 23505 (unique_violation on pg_database_datname_index), not 42P04, and the
 * worker exited instead of using the database the winner had just created.
 */
const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const created: string[] = [];

afterEach(async () => {
  for (const name of created.splice(0)) await dropTestDatabase(serverUrl, name);
});

describe('ensureDatabase', () => {
  test('when several processes create the same new database at once, then every one of them succeeds', async () => {
    for (let round = 0; round < 5; round++) {
      const name = uniqueName('orderly_test_platform_create_race');
      created.push(name);

      const outcomes = await Promise.allSettled(
        Array.from({ length: 6 }, () => ensureDatabase(serverUrl, name, 5000)),
      );

      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
    }
  });
});
