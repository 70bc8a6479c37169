import type { IdentityStore } from '../domain/identity-store.js';
import { hashRefreshToken } from '../domain/refresh-token.js';

export type LogOutStore = Pick<IdentityStore, 'lockRefreshToken' | 'revokeRefreshTokenFamily'>;

/**
 * Ends the session a refresh token belongs to, in the store's transaction: every token of its
 * family is revoked. Returns whose session it was; undefined for a token never issued (which is
 * not an error, so logging out reveals nothing).
 */
export async function logOut(
  store: LogOutStore,
  refreshToken: string,
): Promise<string | undefined> {
  const stored = await store.lockRefreshToken(hashRefreshToken(refreshToken));
  if (!stored) return undefined;
  await store.revokeRefreshTokenFamily(stored.familyId);
  return stored.userId;
}
