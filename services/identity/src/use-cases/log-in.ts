import { randomUUID } from 'node:crypto';
import type { Logger } from '@orderly/platform';
import {
  isPossibleLogin,
  normalizeEmail,
  normalizePassword,
  type AccountPolicy,
  type User,
} from '../domain/account.js';
import { invalidCredentials } from '../domain/identity-errors.js';
import type { IdentityStore, InIdentityTransaction } from '../domain/identity-store.js';
import type { PasswordHasher } from '../domain/password-hash.js';
import {
  issueTokens,
  type IssueTokensStore,
  type SessionSettings,
  type TokenPair,
} from './issue-tokens.js';

export type LogInStore = IssueTokensStore &
  Pick<IdentityStore, 'findUserByEmail' | 'replacePasswordHash'>;

/** How a login checks the password. */
export interface PasswordCheck {
  readonly hasher: PasswordHasher;
  readonly policy: AccountPolicy;
  /** A hash of a random password, checked when the email is unknown so both cases take as long. */
  readonly decoyHash: string;
}

/**
 * Logs a user in: the account is read in one transaction, the password verified outside any
 * transaction (re-hashed when its stored hash is weaker than the configured parameters; a failed
 * re-hash is logged and the old hash kept), then a new token family is issued at `clock()` in a
 * second transaction, with the new hash if there is one. Throws IDENTITY_INVALID_CREDENTIALS, the
 * same for an unknown email and a wrong password.
 */
export async function logIn(
  inTransaction: InIdentityTransaction<LogInStore>,
  credentials: { readonly email: string; readonly password: string },
  passwords: PasswordCheck,
  sessions: SessionSettings,
  clock: () => Date,
  log: Logger,
): Promise<{ user: User; tokens: TokenPair }> {
  const { hasher } = passwords;
  if (!isPossibleLogin(credentials, passwords.policy)) throw invalidCredentials();
  const password = normalizePassword(credentials.password);
  const found = await inTransaction((store) =>
    store.findUserByEmail(normalizeEmail(credentials.email)),
  );
  const matches = await hasher.verify(password, found?.passwordHash ?? passwords.decoyHash);
  if (!found || !matches) {
    log.info({ userId: found?.user.id }, 'login refused');
    throw invalidCredentials();
  }
  const rehashed = await rehashIfWeak(hasher, password, found.passwordHash, found.user.id, log);
  const now = clock();
  const tokens = await inTransaction(async (store) => {
    if (rehashed) {
      await store.replacePasswordHash(found.user.id, found.passwordHash, rehashed);
    }
    return issueTokens(store, found.user, randomUUID(), now, sessions);
  });
  log.info({ userId: found.user.id, rehashed: rehashed !== undefined }, 'user logged in');
  return { user: found.user, tokens };
}

/**
 * A new hash of a password that just matched `storedHash`, when that hash is weaker than the
 * configured parameters; a failure is logged and the login goes on with the old hash.
 */
async function rehashIfWeak(
  hasher: PasswordHasher,
  password: string,
  storedHash: string,
  userId: string,
  log: Logger,
): Promise<string | undefined> {
  if (!hasher.needsRehash(storedHash)) return undefined;
  try {
    return await hasher.hash(password);
  } catch (error) {
    log.warn({ userId, err: error }, 'password re-hash failed; keeping the stored hash');
    return undefined;
  }
}
