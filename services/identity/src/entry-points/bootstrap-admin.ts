import type { Database, Logger } from '@orderly/platform';
import type { AccountPolicy } from '../domain/account.js';
import { passwordHasher, type ScryptParameters } from '../domain/password-hash.js';
import { accountStore } from '../data-access/identity-store.js';
import { bootstrapAdmin } from '../use-cases/bootstrap-admin.js';

/**
 * At start: creates the configured admin (bootstrapAdmin) when a password is configured and the
 * email is not registered yet. Its statements run on the pool, each committing on its own.
 */
export async function ensureBootstrapAdmin(deps: {
  db: Database;
  log: Logger;
  admin: { email: string; password: string };
  policy: AccountPolicy;
  scrypt: ScryptParameters;
  now: Date;
}): Promise<void> {
  await bootstrapAdmin(
    accountStore(deps.db),
    deps.admin,
    passwordHasher(deps.scrypt),
    deps.policy,
    deps.now,
    deps.log,
  );
}
