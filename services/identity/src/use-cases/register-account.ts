import type { Logger } from '@orderly/platform';
import { validateRegistration, type AccountPolicy, type User } from '../domain/account.js';
import { emailTaken } from '../domain/identity-errors.js';
import type { IdentityStore, InIdentityTransaction } from '../domain/identity-store.js';
import type { PasswordHasher } from '../domain/password-hash.js';

export type RegisterAccountStore = Pick<IdentityStore, 'insertUser'>;

/**
 * Creates a customer account: the registration is checked against `policy`, the password hashed
 * (outside any transaction), and the account inserted in a transaction of its own, created at
 * `clock()` then. Throws IDENTITY_INVALID_REGISTRATION naming every problem, or
 * IDENTITY_EMAIL_TAKEN.
 */
export async function registerAccount(
  inTransaction: InIdentityTransaction<RegisterAccountStore>,
  registration: { readonly email: string; readonly password: string },
  hasher: PasswordHasher,
  policy: AccountPolicy,
  clock: () => Date,
  log: Logger,
): Promise<User> {
  const input = validateRegistration(registration, policy);
  const passwordHash = await hasher.hash(input.password);
  const user = await inTransaction((store) =>
    store.insertUser({ email: input.email, passwordHash, role: 'customer' }, clock()),
  );
  if (!user) throw emailTaken();
  log.info({ userId: user.id }, 'user registered');
  return user;
}
