import { AppError } from '@orderly/platform';

/** Every error the identity service raises, with its stable code. */

export const invalidRegistration = (problems: readonly string[]) =>
  new AppError('IDENTITY_INVALID_REGISTRATION', `invalid registration: ${problems.join('; ')}`, {
    kind: 'invalid',
    details: { problems },
  });

export const emailTaken = () =>
  new AppError('IDENTITY_EMAIL_TAKEN', 'an account with this email already exists', {
    kind: 'conflict',
  });

/** The same answer for an unknown email and a wrong password, so accounts are not confirmed. */
export const invalidCredentials = () =>
  new AppError('IDENTITY_INVALID_CREDENTIALS', 'the email or the password is wrong', {
    kind: 'unauthenticated',
  });

/** Unknown, expired, revoked or already used: the client must log in again. */
export const invalidRefreshToken = () =>
  new AppError('IDENTITY_INVALID_REFRESH_TOKEN', 'the refresh token is not valid', {
    kind: 'unauthenticated',
  });

export const noSigningKey = () =>
  new AppError('IDENTITY_NO_SIGNING_KEY', 'there is no active signing key', {
    kind: 'unavailable',
  });

/**
 * Another signing key became active while a rotation waited for the one it replaces; the rotation
 * is retried once against that key.
 */
export const activeSigningKeyTaken = (cause: unknown) =>
  new AppError(
    'IDENTITY_ACTIVE_SIGNING_KEY_TAKEN',
    'another signing key became active at the same time',
    { kind: 'internal', cause },
  );

/** The stored private key cannot be decrypted: the key-encryption key is not the one it was sealed with. */
export const signingKeyUnreadable = (kid: string, cause: unknown) =>
  new AppError(
    'IDENTITY_SIGNING_KEY_UNREADABLE',
    `signing key ${kid} cannot be decrypted with the configured key-encryption key`,
    { kind: 'internal', cause },
  );
