import type { IdentityStore } from '../domain/identity-store.js';
import type { PublicJwk } from '../domain/signing-key.js';

export type PublishSigningKeysStore = Pick<IdentityStore, 'listPublishedSigningKeys'>;

/**
 * The JWKS: the public halves of every key that may still verify a live token, the active one
 * first, then those retiring (newest first). Private halves are never part of it.
 */
export function publishSigningKeys(store: PublishSigningKeysStore): Promise<PublicJwk[]> {
  return store.listPublishedSigningKeys();
}
