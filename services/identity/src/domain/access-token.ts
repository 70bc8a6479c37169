import { randomUUID } from 'node:crypto';
import { SignJWT, type CryptoKey } from 'jose';
import type { User } from './account.js';
import type { SigningAlgorithm } from './signing-key.js';

/**
 * Access tokens: compact JWS signed with the current key's algorithm (ES256 or EdDSA), `alg` and
 * `kid` in the header, and the claims the gateway
 * relies on: sub (the user id, the only customer identity it trusts), role, iss, aud, iat, nbf,
 * exp, jti. They are not stored; they expire.
 */
export interface TokenSettings {
  readonly issuer: string;
  readonly audience: string;
  readonly accessTokenTtlMs: number;
}

export async function issueAccessToken(
  user: User,
  key: { kid: string; alg: SigningAlgorithm; privateKey: CryptoKey },
  settings: TokenSettings,
  now: Date,
): Promise<{ token: string; expiresInSeconds: number }> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  const expiresInSeconds = Math.floor(settings.accessTokenTtlMs / 1000);
  const token = await new SignJWT({ role: user.role })
    .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: 'JWT' })
    .setSubject(user.id)
    .setIssuer(settings.issuer)
    .setAudience(settings.audience)
    .setIssuedAt(issuedAt)
    .setNotBefore(issuedAt)
    .setExpirationTime(issuedAt + expiresInSeconds)
    .setJti(randomUUID())
    .sign(key.privateKey);
  return { token, expiresInSeconds };
}
