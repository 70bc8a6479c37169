import type { User } from '../domain/account.js';
import { issueAccessToken, type TokenSettings } from '../domain/access-token.js';
import type { IdentityStore } from '../domain/identity-store.js';
import { newRefreshToken } from '../domain/refresh-token.js';

export type IssueTokensStore = Pick<IdentityStore, 'currentSigningKey' | 'insertRefreshToken'>;

/** How long what a session is given lives, and how it is issued. */
export interface SessionSettings extends TokenSettings {
  readonly refreshTokenTtlMs: number;
  /** Random bytes in a refresh token. */
  readonly refreshTokenBytes: number;
}

/** What a client holds for a session. */
export interface TokenPair {
  readonly accessToken: string;
  readonly accessTokenExpiresInSeconds: number;
  readonly refreshToken: string;
  readonly refreshTokenExpiresInSeconds: number;
}

/**
 * A new access token signed with the current key, and a new refresh token of `familyId` (stored
 * as its hash), in the store's transaction: the step a login and a refresh end with.
 */
export async function issueTokens(
  store: IssueTokensStore,
  user: User,
  familyId: string,
  now: Date,
  settings: SessionSettings,
): Promise<TokenPair> {
  const key = await store.currentSigningKey();
  const access = await issueAccessToken(user, key, settings, now);
  const refresh = newRefreshToken(settings.refreshTokenBytes);
  await store.insertRefreshToken(
    {
      hash: refresh.hash,
      userId: user.id,
      familyId,
      expiresAt: new Date(now.getTime() + settings.refreshTokenTtlMs),
    },
    now,
  );
  return {
    accessToken: access.token,
    accessTokenExpiresInSeconds: access.expiresInSeconds,
    refreshToken: refresh.token,
    refreshTokenExpiresInSeconds: Math.floor(settings.refreshTokenTtlMs / 1000),
  };
}
