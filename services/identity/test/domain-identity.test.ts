import { describe, expect, test } from 'vitest';
import { isPossibleLogin, validateRegistration } from '../src/domain/account.js';
import { hashPassword, needsRehash, verifyPassword } from '../src/domain/password-hash.js';
import { decideRefresh, hashRefreshToken, newRefreshToken } from '../src/domain/refresh-token.js';
import { generateSigningKey, openPrivateKey, retireAfter } from '../src/domain/signing-key.js';

const policy = { emailMaxLength: 254, passwordMinLength: 10, passwordMaxLength: 128 };
const scrypt = {
  cost: 1024,
  blockSize: 8,
  parallelization: 1,
  keyLength: 64,
  saltLength: 16,
  maxMemoryBytes: 67_108_864,
};

describe('registration rules', () => {
  test('when the email has capitals, then it is stored lower-cased', () => {
    expect(
      validateRegistration({ email: 'Bob@Example.COM', password: 'x'.repeat(10) }, policy).email,
    ).toBe('bob@example.com');
  });

  test('when the password is measured, then characters count, not bytes', () => {
    expect(() =>
      validateRegistration({ email: 'a@b.io', password: '🔑'.repeat(10) }, policy),
    ).not.toThrow();
    expect(() =>
      validateRegistration({ email: 'a@b.io', password: '🔑'.repeat(9) }, policy),
    ).toThrow(/password must be 10 to 128/);
  });

  test('when a login password is longer than any account can have, then it is refused before hashing', () => {
    expect(isPossibleLogin({ email: 'a@b.io', password: 'x'.repeat(129) }, policy)).toBe(false);
    expect(isPossibleLogin({ email: 'a@b.io', password: 'x' }, policy)).toBe(true);
  });
});

describe('password hashes', () => {
  test('when a password is hashed twice, then the salts differ and both verify; another password does not', async () => {
    const first = await hashPassword('correct horse', scrypt);
    const second = await hashPassword('correct horse', scrypt);

    expect(first).not.toBe(second);
    expect(await verifyPassword('correct horse', first, scrypt.maxMemoryBytes)).toBe(true);
    expect(await verifyPassword('correct horse', second, scrypt.maxMemoryBytes)).toBe(true);
    expect(await verifyPassword('correct horsE', first, scrypt.maxMemoryBytes)).toBe(false);
  });

  test.each(['', 'plain', 'bcrypt$1$2$3$a$b', 'scrypt$1024$8$1$$'])(
    'when the stored hash is malformed (%j), then nothing matches',
    async (stored) => {
      expect(await verifyPassword('anything', stored, scrypt.maxMemoryBytes)).toBe(false);
    },
  );

  test('when the configured parameters are stronger than a stored hash, then it needs a re-hash; equal or stronger ones do not', async () => {
    const stored = await hashPassword('correct horse', scrypt);

    expect(needsRehash(stored, scrypt)).toBe(false);
    expect(needsRehash(stored, { ...scrypt, cost: 2048 })).toBe(true);
    expect(needsRehash(stored, { ...scrypt, blockSize: 16 })).toBe(true);
    expect(needsRehash(stored, { ...scrypt, keyLength: 128 })).toBe(true);
    expect(needsRehash(stored, { ...scrypt, cost: 512 })).toBe(false);
    expect(needsRehash('plain', scrypt)).toBe(true);
  });
});

describe('refresh tokens', () => {
  const stored = (status: 'active' | 'rotated' | 'revoked', expiresInMs = 60_000) => ({
    id: 'id',
    userId: 'u',
    familyId: 'f',
    status,
    expiresAt: new Date(Date.now() + expiresInMs),
  });

  test('when a token is presented, then active rotates, rotated is reuse, revoked and expired are refused', () => {
    expect(decideRefresh(stored('active'), new Date())).toBe('rotate');
    expect(decideRefresh(stored('rotated'), new Date())).toBe('reuse-detected');
    expect(decideRefresh(stored('revoked'), new Date())).toBe('refuse');
    expect(decideRefresh(stored('active', -1), new Date())).toBe('refuse');
  });

  test('when a token is issued, then only its SHA-256 is kept and it is 256 bits of base64url', () => {
    const { token, hash } = newRefreshToken(32);
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(hash.equals(hashRefreshToken(token))).toBe(true);
    expect(hash).toHaveLength(32);
  });
});

describe('signing keys', () => {
  test('when a replaced key retires, then it is after the token lifetime plus the skew', () => {
    expect(retireAfter(new Date(0), 900_000, 30_000).getTime()).toBe(930_000);
  });

  test.each(['ES256', 'EdDSA'] as const)(
    'when a sealed %s key is opened with another key-encryption key or under another kid, then it fails',
    async (alg) => {
      const kek = Buffer.alloc(32, 1);
      const key = await generateSigningKey(alg, kek);

      await expect(openPrivateKey(key.sealedPrivateKey, key.kid, alg, kek)).resolves.toBeDefined();
      await expect(
        openPrivateKey(key.sealedPrivateKey, key.kid, alg, Buffer.alloc(32, 2)),
      ).rejects.toThrow();
      await expect(openPrivateKey(key.sealedPrivateKey, 'another-kid', alg, kek)).rejects.toThrow();
    },
  );

  test('when keys are made, then their public JWK has the shape of their algorithm (EC with x and y, OKP with x only)', async () => {
    const kek = Buffer.alloc(32, 1);
    const es = await generateSigningKey('ES256', kek);
    const ed = await generateSigningKey('EdDSA', kek);

    expect(es.publicJwk).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ES256', use: 'sig' });
    expect(typeof es.publicJwk.y).toBe('string');
    expect(ed.publicJwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
    expect(ed.publicJwk).not.toHaveProperty('y');
    expect(ed.publicJwk).not.toHaveProperty('d');
  });
});
