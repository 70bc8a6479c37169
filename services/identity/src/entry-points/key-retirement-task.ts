import type { Database } from '@orderly/platform';
import type { SigningKeys } from '../data-access/signing-keys.js';

/** The periodic task that retires replaced signing keys once every token they signed has expired. */
export const keyRetirementTask = 'identity.retire-signing-keys';

export async function retireSigningKeys(deps: {
  db: Database;
  keys: SigningKeys;
  clock: () => Date;
}): Promise<string[]> {
  return deps.keys.retireDue(deps.db, deps.clock());
}
