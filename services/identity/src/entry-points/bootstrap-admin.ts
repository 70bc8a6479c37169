import type { Database, Logger } from '@orderly/platform';
import { validateRegistration, type AccountPolicy } from '../domain/account.js';
import { hashPassword, type ScryptParameters } from '../domain/password-hash.js';
import { findUserByEmail, insertUser } from '../data-access/user-repository.js';

/**
 * Creates the configured admin at start when a password is configured (from the environment) and
 * the email is not registered yet. An existing account is left as it is, whatever its role.
 */
export async function ensureBootstrapAdmin(deps: {
  db: Database;
  log: Logger;
  admin: { email: string; password: string };
  policy: AccountPolicy;
  scrypt: ScryptParameters;
  now: Date;
}): Promise<void> {
  if (!deps.admin.password) return;
  const input = validateRegistration(deps.admin, deps.policy);
  const existing = await findUserByEmail(deps.db, input.email);
  if (existing) {
    if (existing.user.role !== 'admin') {
      deps.log.warn(
        { userId: existing.user.id },
        'bootstrap admin email belongs to a customer; not promoted',
      );
    }
    return;
  }
  const passwordHash = await hashPassword(input.password, deps.scrypt);
  const user = await deps.db.transaction((tx) =>
    insertUser(tx, { email: input.email, passwordHash, role: 'admin' }, deps.now),
  );
  if (user) deps.log.info({ userId: user.id }, 'bootstrap admin created');
}
