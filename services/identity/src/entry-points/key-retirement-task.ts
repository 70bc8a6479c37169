import type { Database } from '@orderly/platform';
import { identityStore } from '../data-access/identity-store.js';
import type { SigningKeys } from '../data-access/signing-keys.js';
import { retireSigningKeys as retireDueSigningKeys } from '../use-cases/retire-signing-keys.js';

/** The periodic task that retires replaced signing keys once every token they signed has expired. */
export const keyRetirementTask = 'identity.retire-signing-keys';

/** One run of the task, in one transaction; returns the kids it retired. */
export async function retireSigningKeys(deps: {
  db: Database;
  keys: SigningKeys;
  clock: () => Date;
}): Promise<string[]> {
  const now = deps.clock();
  const retired = await deps.db.transaction((tx) =>
    retireDueSigningKeys(identityStore(tx, deps.keys), now),
  );
  deps.keys.forgetRetired(retired);
  return retired;
}
