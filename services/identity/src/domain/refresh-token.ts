import { createHash, randomBytes } from 'node:crypto';

/**
 * Refresh tokens: random, opaque, stored only as their SHA-256. Each login starts a family; each
 * refresh rotates the presented token (it becomes `rotated`) and issues the next one in the
 * family. A rotated token presented again means it was copied: the whole family is revoked, so
 * neither the thief nor the victim can continue without logging in again.
 */
export type RefreshTokenStatus = 'active' | 'rotated' | 'revoked';

export interface StoredRefreshToken {
  readonly id: string;
  readonly userId: string;
  readonly familyId: string;
  readonly status: RefreshTokenStatus;
  readonly expiresAt: Date;
}

export type RefreshDecision = 'rotate' | 'reuse-detected' | 'refuse';

export function newRefreshToken(bytes: number): { token: string; hash: Buffer } {
  const token = randomBytes(bytes).toString('base64url');
  return { token, hash: hashRefreshToken(token) };
}

/** Refresh tokens we issue are base64url; anything else cannot be one and is refused unhashed. */
const refreshTokenPattern = /^[A-Za-z0-9_-]{16,512}$/;

export function isPossibleRefreshToken(token: string): boolean {
  return refreshTokenPattern.test(token);
}

export function hashRefreshToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/** What presenting `stored` at `now` leads to. */
export function decideRefresh(stored: StoredRefreshToken, now: Date): RefreshDecision {
  if (stored.status === 'rotated') return 'reuse-detected';
  if (stored.status === 'revoked') return 'refuse';
  if (stored.expiresAt.getTime() <= now.getTime()) return 'refuse';
  return 'rotate';
}
