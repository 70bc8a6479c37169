import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  assertPostgresUserCanReach,
  folderBlocking,
  postgresSystemAccount,
  PostgresUserAccessError,
} from '../src/db/postgres-user-access.js';

const isRoot = process.getuid?.() === 0;
const postgresAccount = postgresSystemAccount();

let base: string;
let home: string;
let dataDir: string;
beforeEach(() => {
  base = mkdtempSync(join(tmpdir(), 'orderly-pg-access-'));
  chmodSync(base, 0o755);
  // A clone inside a home folder only its owner may enter, like /root.
  home = join(base, 'home');
  dataDir = join(home, 'orderly', '.orderly');
  mkdirSync(dataDir, { recursive: true, mode: 0o755 });
  chmodSync(home, 0o700);
});
afterEach(() => {
  rmSync(base, { recursive: true, force: true });
});

/** What the postgres system user really sees (the kernel's verdict, not our model of it). */
function postgresCanEnter(folder: string): boolean {
  if (!postgresAccount) throw new Error('no postgres account');
  return spawnSync('/usr/bin/test', ['-x', folder], postgresAccount).status === 0;
}

describe('embedded PostgreSQL run as root: can the postgres system user reach its folders', () => {
  test('when a folder on the way is mode 0700 and owned by someone else, then it is the blocking one', () => {
    const other = { uid: 4_000_001, gid: 4_000_001 };

    expect(folderBlocking(dataDir, other)).toBe(home);
    chmodSync(home, 0o711);
    expect(folderBlocking(dataDir, other)).toBeUndefined();
  });

  test.skipIf(!isRoot || !postgresAccount)(
    'when root starts it from a folder of mode 0700 owned by root, then it fails fast naming that folder and what to do (skipped unless run as root with a postgres user: only then does postgres run as another user)',
    () => {
      expect(postgresCanEnter(dataDir)).toBe(false);

      const failure = (() => {
        try {
          assertPostgresUserCanReach({ 'the data folder': dataDir });
        } catch (error) {
          return error;
        }
        return undefined;
      })();

      expect(failure).toBeInstanceOf(PostgresUserAccessError);
      expect(failure).toMatchObject({ blockedFolder: home });
      expect(String((failure as Error).message)).toMatch(/mode 0700.*chmod o\+x/s);
      chmodSync(home, 0o711);
      expect(postgresCanEnter(dataDir)).toBe(true);
      expect(() => assertPostgresUserCanReach({ 'the data folder': dataDir })).not.toThrow();
    },
  );

  test('when the process is not root, then nothing is checked (postgres runs as the current user)', () => {
    expect(() =>
      assertPostgresUserCanReach({ 'the data folder': dataDir }, { isRoot: false }),
    ).not.toThrow();
  });
});
