import type { IdentityStore } from '../domain/identity-store.js';

export type RetireSigningKeysStore = Pick<IdentityStore, 'retireDueSigningKeys'>;

/**
 * Retires, in the store's transaction, the replaced keys whose tokens have all expired (their
 * retire-after time is `now` or earlier): they leave the JWKS and their private halves are
 * forgotten. Returns their kids.
 */
export function retireSigningKeys(store: RetireSigningKeysStore, now: Date): Promise<string[]> {
  return store.retireDueSigningKeys(now);
}
