import { generateKeyPair } from 'jose';
import { describe, expect, test } from 'vitest';
import { createLogger, findAppError, type Logger } from '@orderly/platform';
import type { User } from '../src/domain/account.js';
import { activeSigningKeyTaken } from '../src/domain/identity-errors.js';
import type { InIdentityTransaction } from '../src/domain/identity-store.js';
import type { PasswordHasher } from '../src/domain/password-hash.js';
import type { NewSigningKey } from '../src/domain/signing-key.js';
import { logIn, type LogInStore } from '../src/use-cases/log-in.js';
import {
  rotateSigningKey,
  type RotateSigningKeyStore,
} from '../src/use-cases/rotate-signing-key.js';
import { switchSigningAlgorithm } from '../src/use-cases/switch-signing-algorithm.js';

const policy = { emailMaxLength: 254, passwordMinLength: 8, passwordMaxLength: 128 };
const sessions = {
  issuer: 'urn:orderly:identity',
  audience: 'urn:orderly:api',
  accessTokenTtlMs: 900_000,
  refreshTokenTtlMs: 86_400_000,
  refreshTokenBytes: 32,
};
const now = new Date('2030-01-01T00:00:00Z');
const user: User = { id: 'user-1', email: 'ada@example.test', role: 'customer' };

function capturedLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({
    service: 'identity',
    level: 'info',
    destination: {
      write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>),
    },
  });
  return { log, lines };
}

/** Runs each transaction's work against `store`, counting the transactions. */
function transactionsOf<Store>(store: Store) {
  const counted = { transactions: 0 };
  const inTransaction: InIdentityTransaction<Store> = (work) => {
    counted.transactions++;
    return work(store);
  };
  return { inTransaction, counted };
}

/** One account (`user`, stored hash 'stored-hash'), one signing key; records what was written. */
async function accountStore(options: { registered: boolean }) {
  const { privateKey } = await generateKeyPair('ES256');
  const written: string[] = [];
  const store: LogInStore = {
    findUserByEmail: (email) =>
      Promise.resolve(
        options.registered && email === user.email
          ? { user, passwordHash: 'stored-hash' }
          : undefined,
      ),
    replacePasswordHash: (_userId, _previous, passwordHash) => {
      written.push(`password ${passwordHash}`);
      return Promise.resolve(true);
    },
    currentSigningKey: () => Promise.resolve({ kid: 'kid-1', alg: 'ES256', privateKey }),
    insertRefreshToken: (token) => {
      written.push(`refresh token of ${token.userId}`);
      return Promise.resolve();
    },
  };
  return { store, written };
}

/** A hasher that matches `password` only, and records what it verified against. */
function fakeHasher(options: { password: string; weak?: boolean; hash?: () => Promise<string> }) {
  const verifiedAgainst: string[] = [];
  const hasher: PasswordHasher = {
    hash: options.hash ?? (() => Promise.resolve('new-hash')),
    verify: (password, encoded) => {
      verifiedAgainst.push(encoded);
      return Promise.resolve(password === options.password && encoded !== 'decoy-hash');
    },
    needsRehash: () => options.weak ?? false,
  };
  return { hasher, verifiedAgainst };
}

describe('logIn', () => {
  test('when the email is unknown, then the decoy hash is verified, as for a wrong password, and the refusal is the same', async () => {
    // Arrange
    const { store, written } = await accountStore({ registered: false });
    const { inTransaction, counted } = transactionsOf(store);
    const { hasher, verifiedAgainst } = fakeHasher({ password: 'correct horse' });
    const { log } = capturedLog();

    // Act
    const error = await logIn(
      inTransaction,
      { email: 'nobody@example.test', password: 'correct horse' },
      { hasher, policy, decoyHash: 'decoy-hash' },
      sessions,
      () => now,
      log,
    ).catch((caught: unknown) => caught);

    // Assert
    expect(findAppError(error)?.code).toBe('IDENTITY_INVALID_CREDENTIALS');
    expect(verifiedAgainst).toEqual(['decoy-hash']);
    expect(counted.transactions).toBe(1);
    expect(written).toEqual([]);
  });

  test('when re-hashing a weak stored hash fails, then the login goes on with the stored hash and the failure is logged', async () => {
    // Arrange
    const { store, written } = await accountStore({ registered: true });
    const { inTransaction, counted } = transactionsOf(store);
    const { hasher } = fakeHasher({
      password: 'correct horse',
      weak: true,
      hash: () => Promise.reject(new Error('out of memory')),
    });
    const { log, lines } = capturedLog();

    // Act
    const { user: loggedIn, tokens } = await logIn(
      inTransaction,
      { email: 'Ada@example.test', password: 'correct horse' },
      { hasher, policy, decoyHash: 'decoy-hash' },
      sessions,
      () => now,
      log,
    );

    // Assert
    expect(loggedIn).toEqual(user);
    expect(tokens.accessToken.split('.')).toHaveLength(3);
    expect(written).toEqual(['refresh token of user-1']);
    expect(counted.transactions).toBe(2);
    expect(lines.map((line) => line.msg)).toEqual([
      'password re-hash failed; keeping the stored hash',
      'user logged in',
    ]);
    expect(lines[1]).toMatchObject({ userId: 'user-1', rehashed: false });
  });
});

const lifetimes = { accessTokenTtlMs: 900_000, clockSkewMs: 60_000 };

/**
 * The active key is `active[0]` in the first transaction, `active[1]` in the second, … (ES256
 * unless given as `kid:alg`); the first `conflicts` inserts fail; records the keys inserted.
 */
function keyStore(active: readonly string[], conflicts: number) {
  let transaction = -1;
  const retiring: string[] = [];
  const inserted: string[] = [];
  const store: RotateSigningKeyStore = {
    lockActiveSigningKey: () => {
      transaction++;
      const entry = active[transaction];
      if (entry === undefined) return Promise.resolve(undefined);
      const [kid = '', alg = 'ES256'] = entry.split(':');
      return Promise.resolve({ kid, alg: alg as 'ES256' | 'EdDSA' });
    },
    markSigningKeyRetiring: (kid) => {
      retiring.push(kid);
      return Promise.resolve();
    },
    insertActiveSigningKey: (key) => {
      if (transaction < conflicts)
        return Promise.reject(activeSigningKeyTaken(new Error('duplicate key value')));
      inserted.push(`${key.kid}:${key.alg}`);
      return Promise.resolve();
    },
  };
  return { store, retiring, inserted };
}

describe('rotateSigningKey', () => {
  const newKey = { kid: 'kid-new', alg: 'ES256' } as NewSigningKey;

  test('when a concurrent rotation made its key active meanwhile, then the replacement runs once more and replaces that key', async () => {
    // Arrange
    const { store, retiring } = keyStore(['kid-old', 'kid-concurrent'], 1);
    const { inTransaction, counted } = transactionsOf(store);
    let generated = 0;
    const { log } = capturedLog();

    // Act
    const rotated = await rotateSigningKey(
      inTransaction,
      () => {
        generated++;
        return Promise.resolve(newKey);
      },
      lifetimes,
      now,
      log,
    );

    // Assert
    expect(rotated).toEqual({
      kid: 'kid-new',
      alg: 'ES256',
      retiringKid: 'kid-concurrent',
      retireAfter: new Date(now.getTime() + 960_000),
    });
    expect(counted.transactions).toBe(2);
    expect(generated).toBe(1);
    expect(retiring).toEqual(['kid-old', 'kid-concurrent']);
  });

  test('when the replacement conflicts a second time, then the rotation fails', async () => {
    // Arrange
    const { store } = keyStore(['kid-old', 'kid-a', 'kid-b'], 2);
    const { inTransaction, counted } = transactionsOf(store);
    const { log } = capturedLog();

    // Act
    const error = await rotateSigningKey(
      inTransaction,
      () => Promise.resolve(newKey),
      lifetimes,
      now,
      log,
    ).catch((caught: unknown) => caught);

    // Assert
    expect(findAppError(error)?.code).toBe('IDENTITY_ACTIVE_SIGNING_KEY_TAKEN');
    expect(counted.transactions).toBe(2);
  });
});

describe('switchSigningAlgorithm', () => {
  const edKey = { kid: 'kid-ed', alg: 'EdDSA' } as NewSigningKey;
  const generator = () => {
    const asked: string[] = [];
    const generate = (alg: 'ES256' | 'EdDSA') => {
      asked.push(alg);
      return Promise.resolve(edKey);
    };
    return { generate, asked };
  };

  test('when the active key signs with another algorithm, then a key of the configured one replaces it and the old one retires on the usual schedule', async () => {
    // Arrange
    const { store, retiring, inserted } = keyStore(['kid-es:ES256', 'kid-es:ES256'], 0);
    const { inTransaction } = transactionsOf(store);
    const { generate, asked } = generator();
    const { log, lines } = capturedLog();

    // Act
    const switched = await switchSigningAlgorithm(
      inTransaction,
      'EdDSA',
      generate,
      lifetimes,
      now,
      log,
    );

    // Assert
    expect(switched).toEqual({
      kid: 'kid-ed',
      alg: 'EdDSA',
      retiringKid: 'kid-es',
      retireAfter: new Date(now.getTime() + 960_000),
    });
    expect(asked).toEqual(['EdDSA']);
    expect(retiring).toEqual(['kid-es']);
    expect(inserted).toEqual(['kid-ed:EdDSA']);
    expect(lines.at(-1)).toMatchObject({ msg: 'signing algorithm switched', retiringAlg: 'ES256' });
  });

  test('when the active key already signs with the configured algorithm, then no key is made and nothing changes', async () => {
    // Arrange
    const { store, retiring, inserted } = keyStore(['kid-ed:EdDSA'], 0);
    const { inTransaction, counted } = transactionsOf(store);
    const { generate, asked } = generator();
    const { log } = capturedLog();

    // Act
    const switched = await switchSigningAlgorithm(
      inTransaction,
      'EdDSA',
      generate,
      lifetimes,
      now,
      log,
    );

    // Assert
    expect(switched).toBeUndefined();
    expect(counted.transactions).toBe(1);
    expect(asked).toEqual([]);
    expect(retiring).toEqual([]);
    expect(inserted).toEqual([]);
  });

  test('when another replica switched between the check and the replacement, then its key stays active and no second key is made active', async () => {
    // Arrange: ES256 at the check, already EdDSA (the other replica's key) under the lock.
    const { store, retiring, inserted } = keyStore(['kid-es:ES256', 'kid-other:EdDSA'], 0);
    const { inTransaction } = transactionsOf(store);
    const { generate } = generator();
    const { log } = capturedLog();

    // Act
    const switched = await switchSigningAlgorithm(
      inTransaction,
      'EdDSA',
      generate,
      lifetimes,
      now,
      log,
    );

    // Assert
    expect(switched).toBeUndefined();
    expect(retiring).toEqual([]);
    expect(inserted).toEqual([]);
  });
});
