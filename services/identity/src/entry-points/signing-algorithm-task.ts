import type { Database, Logger } from '@orderly/platform';
import { identityStore } from '../data-access/identity-store.js';
import type { SigningKeys } from '../data-access/signing-keys.js';
import type { SigningAlgorithm } from '../domain/signing-key.js';
import type { KeyLifetimes } from '../use-cases/rotate-signing-key.js';
import { switchSigningAlgorithm } from '../use-cases/switch-signing-algorithm.js';

/**
 * The periodic task that keeps the active signing key on the configured algorithm (it also runs at
 * start and when `signing.algorithm` changes): a no-op while they agree.
 */
export const signingAlgorithmTask = 'identity.follow-signing-algorithm';

/** One check, each step in its own transaction; the kid of the new key when it switched. */
export async function followSigningAlgorithm(
  deps: {
    db: Database;
    keys: SigningKeys;
    clock: () => Date;
    log: Logger;
    lifetimes: KeyLifetimes;
  },
  algorithm: SigningAlgorithm,
): Promise<string | undefined> {
  const switched = await switchSigningAlgorithm(
    (work) => deps.db.transaction((tx) => work(identityStore(tx, deps.keys))),
    algorithm,
    (alg) => deps.keys.generate(alg),
    deps.lifetimes,
    deps.clock(),
    deps.log,
  );
  return switched?.kid;
}
