import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { create } from '@bufbuild/protobuf';
import type { ServiceImpl } from '@connectrpc/connect';
import { calculateJwkThumbprint, exportJWK, generateKeyPair, SignJWT, type CryptoKey } from 'jose';
import type { IdentityService } from '@orderly/identity-contract/identity_service';
import { JwkSchema, Role, type Jwk } from '@orderly/identity-contract/identity_service';
import { AppError } from '@orderly/platform';

/**
 * A stand-in for the identity service behind the gateway's tests: real ES256 keys and JWTs (so the
 * gateway's verification is exercised for real), in-memory accounts and refresh tokens, and
 * counters of everything written, so a test can assert that a refused request wrote nothing.
 */
export const testIssuer = 'urn:orderly:identity';
export const testAudience = 'urn:orderly:api';
export const accessTokenTtlSeconds = 900;

export interface TestKey {
  readonly kid: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  readonly jwk: Jwk;
}

export async function newTestKey(): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair('ES256', { extractable: true });
  const parts = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(parts);
  const jwk = create(JwkSchema, {
    kty: 'EC',
    crv: 'P-256',
    x: parts.x ?? '',
    y: parts.y ?? '',
    kid,
    alg: 'ES256',
    use: 'sig',
  });
  return { kid, privateKey, publicKey, jwk };
}

/** The key every fake identity of this test process starts with (so tokens work on any gateway). */
export const primaryKey = await newTestKey();

export interface SignOptions {
  readonly key?: TestKey;
  /** Replaces the protected header (alg/kid/typ) entirely when given. */
  readonly header?: Record<string, unknown>;
}

/** A token as identity issues it, with `claims` replacing or adding claims (undefined removes one). */
export async function signToken(
  claims: Record<string, unknown> = {},
  options: SignOptions = {},
): Promise<string> {
  const key = options.key ?? primaryKey;
  const now = Math.floor(Date.now() / 1000);
  const payload: Record<string, unknown> = {
    sub: 'customer-1',
    role: 'customer',
    iss: testIssuer,
    aud: testAudience,
    iat: now,
    nbf: now,
    exp: now + accessTokenTtlSeconds,
    jti: randomUUID(),
    ...claims,
  };
  for (const [name, value] of Object.entries(payload))
    if (value === undefined) delete payload[name];
  return new SignJWT(payload)
    .setProtectedHeader(
      (options.header ?? { alg: 'ES256', kid: key.kid, typ: 'JWT' }) as { alg: string },
    )
    .sign(key.privateKey);
}

export const customerToken = (sub: string, claims: Record<string, unknown> = {}) =>
  signToken({ sub, role: 'customer', ...claims });
export const adminToken = (sub = 'admin-1') => signToken({ sub, role: 'admin' });

/** `customer-1`'s token, signed once at load so synchronous helpers can use it. */
export const defaultCustomerToken = await customerToken('customer-1');

interface FakeUser {
  readonly id: string;
  readonly email: string;
  readonly password: string;
  readonly role: 'customer' | 'admin';
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function fakeIdentityService(overrides: Partial<ServiceImpl<typeof IdentityService>> = {}) {
  const users = new Map<string, FakeUser>();
  const refreshTokens = new Map<string, { userId: string; family: string; status: string }>();
  const keys = { current: primaryKey, published: [primaryKey] };
  const calls = { register: 0, login: 0, refresh: 0, logout: 0, rotate: 0, jwks: 0 };
  const counts = { users: 0, refreshTokens: 0, revocations: 0, rotations: 0 };

  async function issue(user: FakeUser, family: string) {
    const refreshToken = randomBytes(32).toString('base64url');
    refreshTokens.set(sha256(refreshToken), { userId: user.id, family, status: 'active' });
    counts.refreshTokens++;
    return {
      accessToken: await signToken({ sub: user.id, role: user.role }, { key: keys.current }),
      accessTokenExpiresInSeconds: accessTokenTtlSeconds,
      refreshToken,
      refreshTokenExpiresInSeconds: 2_592_000,
    };
  }
  const badCredentials = () =>
    new AppError('IDENTITY_INVALID_CREDENTIALS', 'the email or the password is wrong', {
      kind: 'unauthenticated',
    });
  const badRefresh = () =>
    new AppError('IDENTITY_INVALID_REFRESH_TOKEN', 'the refresh token is not valid', {
      kind: 'unauthenticated',
    });

  async function rotate(): Promise<{ kid: string; retiringKid: string }> {
    calls.rotate++;
    const previous = keys.current;
    keys.current = await newTestKey();
    keys.published = [keys.current, ...keys.published];
    counts.rotations++;
    return { kid: keys.current.kid, retiringKid: previous.kid };
  }

  const impl: ServiceImpl<typeof IdentityService> = {
    register(request) {
      calls.register++;
      const email = request.email.toLowerCase();
      const problems: string[] = [];
      if (!/^[a-z0-9._%+-]{1,64}@[a-z0-9-]+(\.[a-z0-9-]+)+$/.test(email)) problems.push('email');
      if ([...request.password].length < 10) problems.push('password');
      if (problems.length > 0) {
        throw new AppError('IDENTITY_INVALID_REGISTRATION', `invalid: ${problems.join(', ')}`, {
          kind: 'invalid',
        });
      }
      if ([...users.values()].some((u) => u.email === email)) {
        throw new AppError('IDENTITY_EMAIL_TAKEN', 'taken', { kind: 'conflict' });
      }
      const user: FakeUser = {
        id: randomUUID(),
        email,
        password: request.password,
        role: 'customer',
      };
      users.set(user.id, user);
      counts.users++;
      return { user: { userId: user.id, email, role: Role.CUSTOMER } };
    },
    async login(request) {
      calls.login++;
      const user = [...users.values()].find((u) => u.email === request.email.toLowerCase());
      if (!user || user.password !== request.password) throw badCredentials();
      return {
        tokens: await issue(user, randomUUID()),
        user: {
          userId: user.id,
          email: user.email,
          role: user.role === 'admin' ? Role.ADMIN : Role.CUSTOMER,
        },
      };
    },
    async refresh(request) {
      calls.refresh++;
      const stored = refreshTokens.get(sha256(request.refreshToken));
      if (!stored) throw badRefresh();
      if (stored.status === 'rotated') {
        for (const token of refreshTokens.values())
          if (token.family === stored.family) token.status = 'revoked';
        counts.revocations++;
        throw badRefresh();
      }
      if (stored.status !== 'active') throw badRefresh();
      stored.status = 'rotated';
      const user = users.get(stored.userId);
      if (!user) throw badRefresh();
      return { tokens: await issue(user, stored.family) };
    },
    logout(request) {
      calls.logout++;
      const stored = refreshTokens.get(sha256(request.refreshToken));
      if (stored) {
        for (const token of refreshTokens.values())
          if (token.family === stored.family) token.status = 'revoked';
        counts.revocations++;
      }
      return {};
    },
    rotateSigningKey: () => rotate(),
    getJwks() {
      calls.jwks++;
      return { keys: keys.published.map((k) => k.jwk) };
    },
    ...overrides,
  };

  return {
    impl,
    users,
    keys,
    calls,
    /** What RotateSigningKey does: a new current key, the old one still published. */
    rotate,
    /** A snapshot of everything written so far; equal snapshots mean nothing was written between. */
    writes: () => ({ ...counts }),
    /** Adds an account directly (e.g. an admin), as the identity's bootstrap would. */
    addUser(user: Omit<FakeUser, 'id'>): FakeUser {
      const added = { id: randomUUID(), ...user };
      users.set(added.id, added);
      return added;
    },
  };
}
