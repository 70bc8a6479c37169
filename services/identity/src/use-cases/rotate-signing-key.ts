import { AppError, type Logger } from '@orderly/platform';
import type { IdentityStore, InIdentityTransaction } from '../domain/identity-store.js';
import { retireAfter, type NewSigningKey } from '../domain/signing-key.js';

export type RotateSigningKeyStore = Pick<
  IdentityStore,
  'lockActiveSigningKey' | 'markSigningKeyRetiring' | 'insertActiveSigningKey'
>;

export interface RotatedSigningKey {
  readonly kid: string;
  /** The key it replaced, if there was one. */
  readonly retiringKid: string | undefined;
  /** When the replaced key may leave the JWKS. */
  readonly retireAfter: Date;
}

/**
 * A new key (from `generateKey`, outside any transaction) signs from now on; the one it replaces
 * stays published until every token it signed has expired (accessTokenTtlMs + clockSkewMs). The
 * replacement is one transaction, run again once when a concurrent rotation made its own key
 * active meanwhile: then that key is the one replaced.
 */
export async function rotateSigningKey(
  inTransaction: InIdentityTransaction<RotateSigningKeyStore>,
  generateKey: () => Promise<NewSigningKey>,
  lifetimes: { readonly accessTokenTtlMs: number; readonly clockSkewMs: number },
  now: Date,
  log: Logger,
): Promise<RotatedSigningKey> {
  const key = await generateKey();
  const retireAt = retireAfter(now, lifetimes.accessTokenTtlMs, lifetimes.clockSkewMs);
  const replace = () =>
    inTransaction(async (store) => {
      const active = await store.lockActiveSigningKey();
      if (active) await store.markSigningKeyRetiring(active.kid, retireAt);
      await store.insertActiveSigningKey(key, now);
      return active?.kid;
    });
  let previous: string | undefined;
  try {
    previous = await replace();
  } catch (error) {
    // A concurrent rotation replaced the key we waited for: replace its key instead.
    if (!(error instanceof AppError && error.code === 'IDENTITY_ACTIVE_SIGNING_KEY_TAKEN')) {
      throw error;
    }
    previous = await replace();
  }
  log.info({ kid: key.kid, retiringKid: previous, retireAfter: retireAt }, 'signing key rotated');
  return { kid: key.kid, retiringKid: previous, retireAfter: retireAt };
}
