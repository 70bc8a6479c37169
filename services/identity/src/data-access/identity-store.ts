import type { Sql } from '@orderly/platform';
import { activeSigningKeyTaken } from '../domain/identity-errors.js';
import type {
  AccountStore,
  IdentityStore,
  RefreshTokenStore,
  SigningKeyStore,
} from '../domain/identity-store.js';
import {
  insertRefreshToken,
  lockRefreshToken,
  markRotated,
  revokeFamily,
} from './refresh-token-repository.js';
import {
  insertActiveKey,
  listPublishedKeys,
  lockActiveKey,
  markRetiring,
  retireDueKeys,
} from './signing-key-repository.js';
import type { SigningKeys } from './signing-keys.js';
import {
  findUserByEmail,
  findUserById,
  insertUser,
  replacePasswordHash,
} from './user-repository.js';

const uniqueViolation = '23505';

/** The identity store of `sql`: an open transaction, or the pool. */
export function identityStore(sql: Sql, keys: SigningKeys): IdentityStore {
  return { ...accountStore(sql), ...refreshTokenStore(sql), ...signingKeyStore(sql, keys) };
}

export function accountStore(sql: Sql): AccountStore {
  return {
    insertUser: (user, now) => insertUser(sql, user, now),
    findUserByEmail: (email) => findUserByEmail(sql, email),
    findUserById: (id) => findUserById(sql, id),
    replacePasswordHash: (userId, previousHash, passwordHash) =>
      replacePasswordHash(sql, userId, previousHash, passwordHash),
  };
}

function refreshTokenStore(sql: Sql): RefreshTokenStore {
  return {
    insertRefreshToken: (token, now) => insertRefreshToken(sql, token, now),
    lockRefreshToken: (hash) => lockRefreshToken(sql, hash),
    markRefreshTokenRotated: (id, now) => markRotated(sql, id, now),
    revokeRefreshTokenFamily: (familyId) => revokeFamily(sql, familyId),
  };
}

function signingKeyStore(sql: Sql, keys: SigningKeys): SigningKeyStore {
  return {
    currentSigningKey: () => keys.current(sql),
    lockActiveSigningKey: () => lockActiveKey(sql),
    markSigningKeyRetiring: (kid, retireAfter) => markRetiring(sql, kid, retireAfter),
    insertActiveSigningKey: async (key, now) => {
      try {
        await insertActiveKey(sql, key, now);
      } catch (error) {
        if ((error as { code?: unknown }).code === uniqueViolation) {
          throw activeSigningKeyTaken(error);
        }
        throw error;
      }
    },
    listPublishedSigningKeys: () => listPublishedKeys(sql),
    retireDueSigningKeys: (now) => retireDueKeys(sql, now),
  };
}
