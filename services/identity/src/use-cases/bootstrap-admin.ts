import type { Logger } from '@orderly/platform';
import { validateRegistration, type AccountPolicy } from '../domain/account.js';
import type { IdentityStore } from '../domain/identity-store.js';
import type { PasswordHasher } from '../domain/password-hash.js';

export type BootstrapAdminStore = Pick<IdentityStore, 'findUserByEmail' | 'insertUser'>;

/**
 * Creates the configured admin when a password is configured (from the environment) and the
 * email is not registered yet. An existing account is left as it is, whatever its role. `store`
 * need not be a transaction: the account is created by one statement, which loses nothing to a
 * concurrent start that creates it first.
 */
export async function bootstrapAdmin(
  store: BootstrapAdminStore,
  admin: { readonly email: string; readonly password: string },
  hasher: PasswordHasher,
  policy: AccountPolicy,
  now: Date,
  log: Logger,
): Promise<void> {
  if (!admin.password) return;
  const input = validateRegistration(admin, policy);
  const existing = await store.findUserByEmail(input.email);
  if (existing) {
    if (existing.user.role !== 'admin') {
      log.warn(
        { userId: existing.user.id },
        'bootstrap admin email belongs to a customer; not promoted',
      );
    }
    return;
  }
  const passwordHash = await hasher.hash(input.password);
  const user = await store.insertUser({ email: input.email, passwordHash, role: 'admin' }, now);
  if (user) log.info({ userId: user.id }, 'bootstrap admin created');
}
