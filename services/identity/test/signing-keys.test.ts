import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually } from '@orderly/platform/testing';
import { Role } from '@orderly/identity-contract/identity_service';
import {
  aPassword,
  anEmail,
  identityTestConfig,
  startTestIdentity,
  type TestIdentity,
} from './test-app.js';

const otherKey = Buffer.alloc(32, 7).toString('base64');

describe('signing keys and rotation', () => {
  let identity: TestIdentity;
  beforeAll(async () => {
    identity = await startTestIdentity();
  });
  afterAll(async () => {
    await identity.stop();
  });

  async function loginToken(): Promise<string> {
    const email = anEmail();
    const password = aPassword();
    await identity.client.register({ email, password });
    return (await identity.client.login({ email, password })).tokens?.accessToken ?? '';
  }

  async function verifyWithJwks(token: string) {
    const { keys } = await identity.client.getJwks({});
    const jwks = createLocalJWKSet({ keys: keys.map((k) => ({ ...k })) });
    return jwtVerify(token, jwks, {
      algorithms: ['ES256'],
      issuer: 'urn:orderly:identity',
      audience: 'urn:orderly:api',
      currentDate: identity.clock.now,
    });
  }

  test('when the service starts, then the JWKS holds one public P-256 key and no private part', async () => {
    const { keys } = await identity.client.getJwks({});

    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(JSON.stringify(keys)).not.toContain('"d"');
  });

  test('when the private key is read from the database, then it is sealed, not a JWK', async () => {
    const { rows } = await identity.runtime.db.query<{ sealed_private_key: Buffer }>(
      `SELECT sealed_private_key FROM signing_keys WHERE status = 'active'`,
    );
    const sealed = rows[0]?.sealed_private_key ?? Buffer.alloc(0);

    expect(sealed.length).toBeGreaterThan(29);
    expect(sealed.toString('utf8')).not.toContain('"d"');
    expect(sealed.toString('utf8')).not.toContain('P-256');
  });

  test('when the key is rotated, then new tokens use the new kid, both keys are published and both tokens verify until the old key retires', async () => {
    const before = await loginToken();
    const oldKid = decodeProtectedHeader(before).kid;

    const rotated = await identity.client.rotateSigningKey({});
    const after = await loginToken();

    expect(rotated.retiringKid).toBe(oldKid);
    expect(decodeProtectedHeader(after).kid).toBe(rotated.kid);
    expect((await identity.client.getJwks({})).keys.map((k) => k.kid)).toEqual([
      rotated.kid,
      oldKid,
    ]);
    await expect(verifyWithJwks(before)).resolves.toBeDefined();
    await expect(verifyWithJwks(after)).resolves.toBeDefined();
    const ttlPlusSkew =
      identity.config.service.accessTokenTtlMs + identity.config.service.clockSkewMs;
    expect(rotated.retireAfter?.seconds).toBe(
      BigInt(Math.floor((identity.clock.now.getTime() + ttlPlusSkew) / 1000)),
    );

    // Not yet: one second before every old token has expired (with the skew) it is still published.
    identity.clock.advance(ttlPlusSkew - 1000);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect((await identity.client.getJwks({})).keys).toHaveLength(2);

    identity.clock.advance(1000);
    await eventually(async () =>
      expect((await identity.client.getJwks({})).keys.map((k) => k.kid)).toEqual([rotated.kid]),
    );
    const { rows } = await identity.runtime.db.query<{ status: string; sealed: boolean }>(
      'SELECT status, sealed_private_key IS NOT NULL AS sealed FROM signing_keys WHERE kid = $1',
      [oldKid],
    );
    expect(rows[0]).toEqual({ status: 'retired', sealed: false });
  });

  test('when two rotations run at once, then exactly one key is active afterwards', async () => {
    await Promise.all([identity.client.rotateSigningKey({}), identity.client.rotateSigningKey({})]);

    const { rows } = await identity.runtime.db.query(
      `SELECT kid FROM signing_keys WHERE status = 'active'`,
    );
    expect(rows).toHaveLength(1);
    await expect(verifyWithJwks(await loginToken())).resolves.toBeDefined();
  });
});

describe('key-encryption key', () => {
  test('when the environment is production and the key is the dev-only one, then the service refuses to start naming the key', async () => {
    const config = identityTestConfig({}, { environment: 'production' });

    await expect(startTestIdentity({ config })).rejects.toThrow(
      /services\.identity\.keyEncryptionKey.*dev-only key is refused/s,
    );
  });

  test('when the dev key is given without its marker in production, then it is refused as well', async () => {
    const config = identityTestConfig(
      { keyEncryptionKey: 'zqT5BQhfVjtvw7wSgyvinOdXnFWAdnlPtvanIoCLJd4=' },
      { environment: 'production' },
    );

    await expect(startTestIdentity({ config })).rejects.toThrow(/dev-only key is refused/);
  });

  test('when the key is not 32 bytes of base64, then the configuration is invalid', () => {
    expect(() => identityTestConfig({ keyEncryptionKey: 'c2hvcnQ=' })).toThrow(
      /services\.identity\.keyEncryptionKey.*32 bytes/s,
    );
  });

  test('when the service restarts with another key-encryption key, then it refuses to start instead of failing logins', async () => {
    const first = await startTestIdentity();
    await first.stop({ keepDatabase: true });
    const config = identityTestConfig({
      database: first.config.service.database,
      keyEncryptionKey: otherKey,
    });
    try {
      await expect(startTestIdentity({ config })).rejects.toMatchObject({
        code: 'IDENTITY_SIGNING_KEY_UNREADABLE',
      });
    } finally {
      await first.stop().catch(() => undefined);
    }
  });
});

describe('bootstrap admin', () => {
  test('when a bootstrap admin password is configured, then that account logs in with the admin role', async () => {
    const password = aPassword();
    const identity = await startTestIdentity({
      service: { bootstrapAdmin: { email: 'root@example.test', password } },
    });
    try {
      const { tokens, user } = await identity.client.login({
        email: 'root@example.test',
        password,
      });

      expect(user?.role).toBe(Role.ADMIN);
      const payload = JSON.parse(
        Buffer.from(tokens?.accessToken.split('.')[1] ?? '', 'base64url').toString('utf8'),
      ) as { role: string };
      expect(payload.role).toBe('admin');
      expect(identity.logText()).not.toContain(password);
    } finally {
      await identity.stop();
    }
  });

  test('when no bootstrap password is configured, then no admin exists', async () => {
    const identity = await startTestIdentity();
    try {
      const { rows } = await identity.runtime.db.query(`SELECT 1 FROM users WHERE role = 'admin'`);
      expect(rows).toHaveLength(0);
    } finally {
      await identity.stop();
    }
  });
});
