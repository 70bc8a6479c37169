import { Code } from '@connectrpc/connect';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Role } from '@orderly/identity-contract/identity_service';
import {
  aPassword,
  anEmail,
  identityTestConfig,
  rpcError,
  startTestIdentity,
  type IdentityClient,
  type TestIdentity,
} from './test-app.js';

let identity: TestIdentity;
beforeAll(async () => {
  identity = await startTestIdentity();
});
afterAll(async () => {
  await identity.stop();
});

async function registered(client: IdentityClient) {
  const email = anEmail();
  const password = aPassword();
  const { user } = await client.register({ email, password });
  return { email, password, userId: user?.userId ?? '' };
}

async function verify(token: string) {
  const { keys } = await identity.client.getJwks({});
  const jwks = createLocalJWKSet({ keys: keys.map((k) => ({ ...k })) });
  return jwtVerify(token, jwks, {
    algorithms: ['ES256'],
    issuer: identity.config.service.issuer,
    audience: identity.config.service.audience,
    currentDate: identity.clock.now,
  });
}

describe('Register', () => {
  test('when a new email registers, then it is a customer stored with an scrypt hash, never the password', async () => {
    const email = `Mixed.Case-${anEmail()}`;
    const password = aPassword();

    const { user } = await identity.client.register({ email, password });

    expect(user).toMatchObject({ email: email.toLowerCase(), role: Role.CUSTOMER });
    const { rows } = await identity.runtime.db.query<{ password_hash: string }>(
      'SELECT password_hash FROM users WHERE id = $1',
      [user?.userId],
    );
    expect(rows[0]?.password_hash).toMatch(
      /^scrypt\$1024\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/,
    );
    expect(rows[0]?.password_hash).not.toContain(password);
  });

  test('when the email is already registered in another case, then it is ALREADY_EXISTS IDENTITY_EMAIL_TAKEN', async () => {
    const { email } = await registered(identity.client);

    const error = await rpcError(
      identity.client.register({ email: email.toUpperCase(), password: aPassword() }),
    );

    expect(error).toMatchObject({ code: Code.AlreadyExists, errorCode: 'IDENTITY_EMAIL_TAKEN' });
  });

  test.each([
    ['a short password', anEmail(), 'short'],
    ['a password over the maximum', anEmail(), 'x'.repeat(129)],
    ['an email without a domain', 'someone@', aPassword()],
    ['an email with spaces', 'some one@example.test', aPassword()],
    ['an empty email', '', aPassword()],
  ])(
    'when the registration has %s, then it is INVALID_ARGUMENT and nothing is stored',
    async (_what, email, password) => {
      const before = await identity.runtime.db.query('SELECT 1 FROM users');

      const error = await rpcError(identity.client.register({ email, password }));

      expect(error).toMatchObject({
        code: Code.InvalidArgument,
        errorCode: 'IDENTITY_INVALID_REGISTRATION',
      });
      expect((await identity.runtime.db.query('SELECT 1 FROM users')).rowCount).toBe(
        before.rowCount,
      );
    },
  );
});

describe('Login', () => {
  test('when the password is right, then an ES256 access token with every claim and a refresh token are issued', async () => {
    const { email, password, userId } = await registered(identity.client);

    const { tokens, user } = await identity.client.login({ email: email.toUpperCase(), password });

    expect(user?.userId).toBe(userId);
    expect(tokens?.accessTokenExpiresInSeconds).toBe(900);
    expect(tokens?.refreshToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const header = decodeProtectedHeader(tokens?.accessToken ?? '');
    const { payload } = await verify(tokens?.accessToken ?? '');
    const { keys } = await identity.client.getJwks({});
    expect(header).toEqual({ alg: 'ES256', kid: keys[0]?.kid, typ: 'JWT' });
    expect(payload).toEqual({
      sub: userId,
      role: 'customer',
      iss: 'urn:orderly:identity',
      aud: 'urn:orderly:api',
      iat: expect.any(Number) as unknown,
      nbf: expect.any(Number) as unknown,
      exp: expect.any(Number) as unknown,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
    });
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(900);
  });

  test('when the password is wrong or the email unknown, then both are UNAUTHENTICATED IDENTITY_INVALID_CREDENTIALS', async () => {
    const { email } = await registered(identity.client);

    const wrongPassword = await rpcError(identity.client.login({ email, password: aPassword() }));
    const unknownEmail = await rpcError(
      identity.client.login({ email: anEmail(), password: aPassword() }),
    );

    expect(wrongPassword).toMatchObject({
      code: Code.Unauthenticated,
      errorCode: 'IDENTITY_INVALID_CREDENTIALS',
    });
    expect(unknownEmail).toEqual(wrongPassword);
  });

  test('when each login of one user is verified, then every token has its own jti', async () => {
    const { email, password } = await registered(identity.client);

    const first = await identity.client.login({ email, password });
    const second = await identity.client.login({ email, password });

    const a = await verify(first.tokens?.accessToken ?? '');
    const b = await verify(second.tokens?.accessToken ?? '');
    expect(a.payload.jti).not.toBe(b.payload.jti);
    expect(first.tokens?.refreshToken).not.toBe(second.tokens?.refreshToken);
  });
});

describe('password re-hash on login', () => {
  const storedHash = async (instance: TestIdentity, userId: string) =>
    (
      await instance.runtime.db.query<{ password_hash: string }>(
        'SELECT password_hash FROM users WHERE id = $1',
        [userId],
      )
    ).rows[0]?.password_hash ?? '';

  test('when a user registered under a lower scrypt cost logs in after the cost was raised, then the stored hash carries the new cost and logging in still works; a wrong password re-hashes nothing', async () => {
    const before = await startTestIdentity();
    const { email, password, userId } = await registered(before.client);
    const oldHash = await storedHash(before, userId);
    await before.stop({ keepDatabase: true });
    const raised = identityTestConfig({ database: before.config.service.database });
    const strongerScrypt = { ...raised.service.password.scrypt, cost: 4096 };
    const after = await startTestIdentity({
      config: {
        ...raised,
        service: {
          ...raised.service,
          password: { ...raised.service.password, scrypt: strongerScrypt },
        },
      },
    });
    try {
      const wrong = await rpcError(after.client.login({ email, password: `${password}x` }));
      expect(wrong).toMatchObject({ errorCode: 'IDENTITY_INVALID_CREDENTIALS' });
      expect(await storedHash(after, userId)).toBe(oldHash);

      const first = await after.client.login({ email, password });

      const newHash = await storedHash(after, userId);
      expect(oldHash).toMatch(/^scrypt\$1024\$8\$1\$/);
      expect(newHash).toMatch(/^scrypt\$4096\$8\$1\$/);
      expect(first.user?.userId).toBe(userId);
      const second = await after.client.login({ email, password });
      expect(second.user?.userId).toBe(userId);
      expect(await storedHash(after, userId)).toBe(newHash);
    } finally {
      await after.stop();
    }
  });
});

describe('Refresh', () => {
  test('when a refresh token is used, then a new pair is issued and the used token is rotated (refused next time)', async () => {
    const { email, password, userId } = await registered(identity.client);
    const login = await identity.client.login({ email, password });

    const refreshed = await identity.client.refresh({
      refreshToken: login.tokens?.refreshToken ?? '',
    });

    expect(refreshed.tokens?.refreshToken).not.toBe(login.tokens?.refreshToken);
    expect((await verify(refreshed.tokens?.accessToken ?? '')).payload.sub).toBe(userId);
    const { rows } = await identity.runtime.db.query<{ token_hash: Buffer }>(
      'SELECT token_hash FROM refresh_tokens WHERE user_id = $1',
      [userId],
    );
    for (const row of rows) {
      expect(row.token_hash).toHaveLength(32);
      expect(row.token_hash.toString('base64url')).not.toBe(login.tokens?.refreshToken);
    }
  });

  test('when a rotated refresh token is presented again, then it is refused and the whole family is revoked', async () => {
    const { email, password } = await registered(identity.client);
    const login = await identity.client.login({ email, password });
    const stolen = login.tokens?.refreshToken ?? '';
    const legit = await identity.client.refresh({ refreshToken: stolen });

    const reuse = await rpcError(identity.client.refresh({ refreshToken: stolen }));
    const afterReuse = await rpcError(
      identity.client.refresh({ refreshToken: legit.tokens?.refreshToken ?? '' }),
    );

    expect(reuse).toMatchObject({
      code: Code.Unauthenticated,
      errorCode: 'IDENTITY_INVALID_REFRESH_TOKEN',
    });
    expect(afterReuse).toMatchObject({ errorCode: 'IDENTITY_INVALID_REFRESH_TOKEN' });
    expect(
      identity.logLines.some((line) => line.msg === 'refresh token reused: family revoked'),
    ).toBe(true);
  });

  test('when another login of the same user exists, then revoking one family leaves the other working', async () => {
    const { email, password } = await registered(identity.client);
    const phone = await identity.client.login({ email, password });
    const laptop = await identity.client.login({ email, password });

    await identity.client.logout({ refreshToken: phone.tokens?.refreshToken ?? '' });

    await expect(
      identity.client.refresh({ refreshToken: laptop.tokens?.refreshToken ?? '' }),
    ).resolves.toBeDefined();
  });

  test.each(['', 'not a token', 'x'.repeat(600), 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'])(
    'when the refresh token is %j, then it is UNAUTHENTICATED IDENTITY_INVALID_REFRESH_TOKEN',
    async (refreshToken) => {
      const error = await rpcError(identity.client.refresh({ refreshToken }));
      expect(error).toMatchObject({
        code: Code.Unauthenticated,
        errorCode: 'IDENTITY_INVALID_REFRESH_TOKEN',
      });
    },
  );

  test('when a refresh token has expired, then it is refused', async () => {
    const { email, password } = await registered(identity.client);
    const login = await identity.client.login({ email, password });

    identity.clock.advance(identity.config.service.refreshTokenTtlMs + 1000);
    try {
      const error = await rpcError(
        identity.client.refresh({ refreshToken: login.tokens?.refreshToken ?? '' }),
      );
      expect(error.errorCode).toBe('IDENTITY_INVALID_REFRESH_TOKEN');
    } finally {
      identity.clock.advance(-(identity.config.service.refreshTokenTtlMs + 1000));
    }
  });
});

describe('Logout', () => {
  test('when a user logs out, then the refresh token and every token rotated from it are revoked', async () => {
    const { email, password } = await registered(identity.client);
    const login = await identity.client.login({ email, password });
    const refreshed = await identity.client.refresh({
      refreshToken: login.tokens?.refreshToken ?? '',
    });

    await identity.client.logout({ refreshToken: refreshed.tokens?.refreshToken ?? '' });

    const error = await rpcError(
      identity.client.refresh({ refreshToken: refreshed.tokens?.refreshToken ?? '' }),
    );
    expect(error.errorCode).toBe('IDENTITY_INVALID_REFRESH_TOKEN');
  });

  test('when an unknown token is logged out, then it succeeds without revealing anything', async () => {
    await expect(
      identity.client.logout({ refreshToken: 'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' }),
    ).resolves.toEqual(expect.anything());
  });
});

describe('secrets in logs', () => {
  test('when users register, log in (rightly and wrongly), refresh and log out, then no password or token is ever logged', async () => {
    const email = anEmail();
    const password = `never-log-me-${aPassword()}`;
    await identity.client.register({ email, password });
    await rpcError(identity.client.login({ email, password: `${password}-wrong` }));
    const login = await identity.client.login({ email, password });
    const refreshed = await identity.client.refresh({
      refreshToken: login.tokens?.refreshToken ?? '',
    });
    await rpcError(identity.client.refresh({ refreshToken: login.tokens?.refreshToken ?? '' }));
    await identity.client.logout({ refreshToken: refreshed.tokens?.refreshToken ?? '' });

    const text = identity.logText();
    expect(text).toContain('user logged in');
    for (const secret of [
      password,
      'never-log-me',
      login.tokens?.accessToken ?? '',
      login.tokens?.refreshToken ?? '',
      refreshed.tokens?.refreshToken ?? '',
    ]) {
      expect(secret).not.toBe('');
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain(email);
  });
});
