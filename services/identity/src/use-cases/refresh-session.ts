import type { IdentityStore } from '../domain/identity-store.js';
import { decideRefresh, hashRefreshToken } from '../domain/refresh-token.js';
import {
  issueTokens,
  type IssueTokensStore,
  type SessionSettings,
  type TokenPair,
} from './issue-tokens.js';

export type RefreshSessionStore = IssueTokensStore &
  Pick<
    IdentityStore,
    'lockRefreshToken' | 'revokeRefreshTokenFamily' | 'findUserById' | 'markRefreshTokenRotated'
  >;

/** How presenting a refresh token ended. */
export type RefreshOutcome =
  /** Rotated: the presented token is used up, `tokens` carry on its family. */
  | { readonly tokens: TokenPair; readonly userId: string }
  /** Never issued, or its user is gone. */
  | { readonly refused: 'unknown' }
  | { readonly refused: 'expired-or-revoked' }
  /** A rotated token presented again, so it was copied: its whole family is revoked. */
  | { readonly refused: 'reused'; readonly userId: string };

/**
 * Rotates a refresh token in the store's transaction: the presented token is locked and decided
 * (decideRefresh); a rotated one is used up and the next token of its family issued with a new
 * access token. A refusal is an outcome, not an error, so that the revocation of a reused token's
 * family is committed before the caller is answered.
 */
export async function refreshSession(
  store: RefreshSessionStore,
  refreshToken: string,
  now: Date,
  sessions: SessionSettings,
): Promise<RefreshOutcome> {
  const stored = await store.lockRefreshToken(hashRefreshToken(refreshToken));
  if (!stored) return { refused: 'unknown' };
  const decision = decideRefresh(stored, now);
  if (decision === 'reuse-detected') {
    await store.revokeRefreshTokenFamily(stored.familyId);
    return { refused: 'reused', userId: stored.userId };
  }
  if (decision === 'refuse') return { refused: 'expired-or-revoked' };
  const user = await store.findUserById(stored.userId);
  if (!user) return { refused: 'unknown' };
  await store.markRefreshTokenRotated(stored.id, now);
  return {
    tokens: await issueTokens(store, user, stored.familyId, now, sessions),
    userId: user.id,
  };
}
