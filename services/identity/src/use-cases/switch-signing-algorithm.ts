import type { Logger } from '@orderly/platform';
import type { InIdentityTransaction } from '../domain/identity-store.js';
import type { NewSigningKey, SigningAlgorithm } from '../domain/signing-key.js';
import {
  replaceActiveSigningKey,
  type KeyLifetimes,
  type RotateSigningKeyStore,
  type RotatedSigningKey,
} from './rotate-signing-key.js';

/**
 * Makes `algorithm` (the configured one) the algorithm tokens are signed with: when the active key
 * signs with another, a new key of `algorithm` replaces it, exactly as a rotation does — the old
 * key stays in the JWKS until every token it signed has expired, then the retirement sweep retires
 * it. Nothing happens when the active key already signs with `algorithm`, also when another replica
 * switched first (decided under the active key's lock), so every replica may call this.
 */
export async function switchSigningAlgorithm(
  inTransaction: InIdentityTransaction<RotateSigningKeyStore>,
  algorithm: SigningAlgorithm,
  generateKey: (algorithm: SigningAlgorithm) => Promise<NewSigningKey>,
  lifetimes: KeyLifetimes,
  now: Date,
  log: Logger,
): Promise<RotatedSigningKey | undefined> {
  const active = await inTransaction((store) => store.lockActiveSigningKey());
  if (active?.alg === algorithm) return undefined;
  const key = await generateKey(algorithm);
  const switched = await replaceActiveSigningKey(
    inTransaction,
    key,
    lifetimes,
    now,
    (current) => current?.alg !== algorithm,
  );
  if (switched) {
    log.info(
      {
        kid: switched.kid,
        alg: switched.alg,
        retiringKid: switched.retiringKid,
        retiringAlg: active?.alg,
        retireAfter: switched.retireAfter,
      },
      'signing algorithm switched',
    );
  }
  return switched;
}
