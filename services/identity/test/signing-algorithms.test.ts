import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { eventually, testLiveConfig } from '@orderly/platform/testing';
import { identityConfigSchema } from '../src/service.js';
import {
  aPassword,
  anEmail,
  fastScrypt,
  identityTestConfig,
  startTestIdentity,
  type TestIdentity,
} from './test-app.js';

/**
 * Moving access tokens from ES256 to EdDSA by configuration (`signing.algorithm`): the next key is
 * made with the configured algorithm, a running service switches when the file changes, a service
 * started with another algorithm than its active key's switches at start, and the JWKS publishes
 * the keys of both algorithms until the old one's tokens have expired.
 */
const issuer = 'urn:orderly:identity';
const audience = 'urn:orderly:api';

async function loginToken(identity: TestIdentity): Promise<string> {
  const email = anEmail();
  const password = aPassword();
  await identity.client.register({ email, password });
  return (await identity.client.login({ email, password })).tokens?.accessToken ?? '';
}

/** Verifies `token` as a gateway accepting `algorithms` would, against identity's JWKS now. */
async function verifyWithJwks(
  identity: TestIdentity,
  token: string,
  algorithms: string[] = ['ES256', 'EdDSA'],
) {
  const { keys } = await identity.client.getJwks({});
  const jwks = createLocalJWKSet({
    keys: keys.map(({ kty, crv, x, y, kid, alg, use }): JWK => ({
      kty,
      crv,
      x,
      ...(y ? { y } : {}),
      kid,
      alg,
      use,
    })),
  });
  return jwtVerify(token, jwks, { algorithms, issuer, audience, currentDate: identity.clock.now });
}

const publishedAlgorithms = async (identity: TestIdentity) =>
  (await identity.client.getJwks({})).keys.map((key) => key.alg);

describe('signing algorithm by configuration', () => {
  const dir = mkdtempSync(join(tmpdir(), 'orderly-identity-alg-'));
  const configFile = join(dir, 'identity.yaml');
  const identityYaml = (algorithm: string) =>
    `configReload:\n  debounceMs: 20\n  pollIntervalMs: 100\nservices:\n  identity:\n    signing:\n      algorithm: ${algorithm}\n`;
  let live: ReturnType<typeof testLiveConfig<typeof identityConfigSchema>>;
  let identity: TestIdentity;

  beforeAll(async () => {
    writeFileSync(configFile, identityYaml('ES256'));
    live = testLiveConfig('identity', identityConfigSchema, configFile, {
      // The retirement sweep and the algorithm check run every 50 ms (the file cannot override these).
      service: { keyRetireSweepIntervalMs: 50, password: { scrypt: fastScrypt } },
    });
    identity = await startTestIdentity({ config: live.live });
  });
  afterAll(async () => {
    await identity?.stop();
    live?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test('when signing.algorithm changes to EdDSA while running, then new tokens are EdDSA, the JWKS publishes both keys and a token issued before still verifies until its key retires', async () => {
    // Arrange
    const before = await loginToken(identity);
    expect(decodeProtectedHeader(before).alg).toBe('ES256');
    const esKid = decodeProtectedHeader(before).kid;

    // Act
    writeFileSync(configFile, identityYaml('EdDSA'));

    // Assert
    await eventually(async () =>
      expect(await publishedAlgorithms(identity)).toEqual(['EdDSA', 'ES256']),
    );
    const after = await loginToken(identity);
    expect(decodeProtectedHeader(after).alg).toBe('EdDSA');
    const { keys } = await identity.client.getJwks({});
    expect(keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', y: '' });
    expect(keys[1]).toMatchObject({ kid: esKid, kty: 'EC', crv: 'P-256', alg: 'ES256' });
    await expect(verifyWithJwks(identity, before)).resolves.toBeDefined();
    await expect(verifyWithJwks(identity, after)).resolves.toBeDefined();
    // A verifier that accepts only EdDSA refuses the old token: accepting both is the window.
    await expect(verifyWithJwks(identity, before, ['EdDSA'])).rejects.toThrow();

    // The ES256 key retires on the usual schedule, once every token it signed has expired.
    const { accessTokenTtlMs, clockSkewMs } = identity.config.service;
    identity.clock.advance(accessTokenTtlMs + clockSkewMs);
    await eventually(async () => expect(await publishedAlgorithms(identity)).toEqual(['EdDSA']));
    const { keys: left } = await identity.client.getJwks({});
    expect(left.map((key) => key.kid)).not.toContain(esKid);
    await expect(verifyWithJwks(identity, await loginToken(identity))).resolves.toBeDefined();
  });

  test('when a key is rotated after the switch, then the new key is of the configured algorithm', async () => {
    const rotated = await identity.client.rotateSigningKey({});
    expect(rotated.alg).toBe('EdDSA');

    const token = await loginToken(identity);
    expect(decodeProtectedHeader(token)).toMatchObject({ alg: 'EdDSA', kid: rotated.kid });
    expect(await publishedAlgorithms(identity)).toEqual(['EdDSA', 'EdDSA']);
  });

  test('when the algorithm goes back to ES256, then the switch works the same way in reverse', async () => {
    const before = await loginToken(identity);

    writeFileSync(configFile, identityYaml('ES256'));

    await eventually(async () => expect((await publishedAlgorithms(identity))[0]).toBe('ES256'));
    const after = await loginToken(identity);
    expect(decodeProtectedHeader(after).alg).toBe('ES256');
    await expect(verifyWithJwks(identity, before)).resolves.toBeDefined();
  });

  test('when the file names an unknown algorithm, then it is rejected whole and tokens keep their algorithm', async () => {
    writeFileSync(configFile, identityYaml('RS256'));

    await eventually(() =>
      expect(live.live.status().reloadError).toMatch(/services\.identity\.signing\.algorithm/),
    );
    expect(live.live.service.signing.algorithm).toBe('ES256');
    expect(decodeProtectedHeader(await loginToken(identity)).alg).toBe('ES256');
  });
});

describe('signing algorithm at start', () => {
  test('when the service restarts configured with EdDSA and its active key is ES256, then it switches before serving and keeps the ES256 key published', async () => {
    const first = await startTestIdentity({ service: { signing: { algorithm: 'ES256' } } });
    const before = await loginToken(first);
    await first.stop({ keepDatabase: true });

    const second = await startTestIdentity({
      config: identityTestConfig({
        database: first.config.service.database,
        signing: { algorithm: 'EdDSA' },
      }),
    });
    try {
      expect(await publishedAlgorithms(second)).toEqual(['EdDSA', 'ES256']);
      expect(decodeProtectedHeader(await loginToken(second)).alg).toBe('EdDSA');
      await expect(verifyWithJwks(second, before)).resolves.toBeDefined();
    } finally {
      await second.stop();
    }
  });

  test('when signing.algorithm is not a known algorithm, then the configuration is refused naming the key and the choices', () => {
    expect(() => identityTestConfig({ signing: { algorithm: 'HS256' } })).toThrow(
      /services\.identity\.signing\.algorithm.*ES256.*EdDSA/s,
    );
  });
});
