import { AppError, type Logger } from '@orderly/platform';
import type { IdentityStore, InIdentityTransaction } from '../domain/identity-store.js';
import { retireAfter, type NewSigningKey, type SigningAlgorithm } from '../domain/signing-key.js';

export type RotateSigningKeyStore = Pick<
  IdentityStore,
  'lockActiveSigningKey' | 'markSigningKeyRetiring' | 'insertActiveSigningKey'
>;

export interface RotatedSigningKey {
  readonly kid: string;
  /** The algorithm the new key signs with. */
  readonly alg: SigningAlgorithm;
  /** The key it replaced, if there was one. */
  readonly retiringKid: string | undefined;
  /** When the replaced key may leave the JWKS. */
  readonly retireAfter: Date;
}

export interface KeyLifetimes {
  readonly accessTokenTtlMs: number;
  readonly clockSkewMs: number;
}

/**
 * A new key (from `generateKey`, outside any transaction, made with the configured algorithm) signs
 * from now on; the one it replaces stays published until every token it signed has expired
 * (accessTokenTtlMs + clockSkewMs), whatever its algorithm.
 */
export async function rotateSigningKey(
  inTransaction: InIdentityTransaction<RotateSigningKeyStore>,
  generateKey: () => Promise<NewSigningKey>,
  lifetimes: KeyLifetimes,
  now: Date,
  log: Logger,
): Promise<RotatedSigningKey> {
  const key = await generateKey();
  const rotated = await replaceActiveSigningKey(inTransaction, key, lifetimes, now, () => true);
  if (!rotated) throw new Error('a rotation always replaces the active key');
  log.info(
    {
      kid: key.kid,
      alg: key.alg,
      retiringKid: rotated.retiringKid,
      retireAfter: rotated.retireAfter,
    },
    'signing key rotated',
  );
  return rotated;
}

/**
 * Makes `key` the active one when `replaces(active)` says the active key (if any) should give way;
 * otherwise nothing changes and the answer is undefined. The replacement is one transaction, run
 * again once when a concurrent rotation made its own key active meanwhile: then that key is the one
 * asked about and replaced.
 */
export async function replaceActiveSigningKey(
  inTransaction: InIdentityTransaction<RotateSigningKeyStore>,
  key: NewSigningKey,
  lifetimes: KeyLifetimes,
  now: Date,
  replaces: (active: { kid: string; alg: SigningAlgorithm } | undefined) => boolean,
): Promise<RotatedSigningKey | undefined> {
  const retireAt = retireAfter(now, lifetimes.accessTokenTtlMs, lifetimes.clockSkewMs);
  const replace = () =>
    inTransaction(async (store) => {
      const active = await store.lockActiveSigningKey();
      if (!replaces(active)) return { replaced: false as const };
      if (active) await store.markSigningKeyRetiring(active.kid, retireAt);
      await store.insertActiveSigningKey(key, now);
      return { replaced: true as const, previous: active?.kid };
    });
  let outcome;
  try {
    outcome = await replace();
  } catch (error) {
    // A concurrent rotation replaced the key we waited for: ask about its key instead.
    if (!(error instanceof AppError && error.code === 'IDENTITY_ACTIVE_SIGNING_KEY_TAKEN')) {
      throw error;
    }
    outcome = await replace();
  }
  if (!outcome.replaced) return undefined;
  return { kid: key.kid, alg: key.alg, retiringKid: outcome.previous, retireAfter: retireAt };
}
