import { AppError } from '@orderly/platform';

/**
 * Authentication, authorization and rate-limit errors of the gateway. `details.wwwAuthenticate`
 * becomes the WWW-Authenticate header of the 401/403 (RFC 6750). The reason a token was refused
 * goes to the log (debug), never to the client: every bad token gets the same answer.
 */
export const missingToken = () =>
  new AppError('AUTH_TOKEN_MISSING', 'this route needs an Authorization: Bearer access token', {
    kind: 'unauthenticated',
    details: { wwwAuthenticate: 'Bearer' },
  });

export const invalidToken = (reason: string, cause?: unknown) =>
  new AppError('AUTH_TOKEN_INVALID', 'the access token is not valid', {
    kind: 'unauthenticated',
    cause,
    details: { wwwAuthenticate: 'Bearer error="invalid_token"', reason },
  });

/**
 * A token signed with an algorithm the gateway verified once but accepts no more (a signing
 * algorithm migration closed its window): not a forgery, so the client is told what to do.
 */
export const algorithmNotAccepted = (alg: string, accepted: readonly string[]) =>
  new AppError(
    'AUTH_TOKEN_ALGORITHM_NOT_ACCEPTED',
    `the access token is signed with ${alg}, which is not accepted now (accepted: ${accepted.join(', ')}); log in again for a new token`,
    {
      kind: 'unauthenticated',
      details: { wwwAuthenticate: 'Bearer error="invalid_token"', reason: `alg ${alg}` },
    },
  );

export const adminRequired = () =>
  new AppError('AUTH_FORBIDDEN', 'this route needs the admin role', {
    kind: 'forbidden',
    details: { wwwAuthenticate: 'Bearer error="insufficient_scope"' },
  });

export const rateLimited = () =>
  new AppError('RATE_LIMITED', 'too many requests; retry after the time in Retry-After', {
    kind: 'rate-limited',
  });
