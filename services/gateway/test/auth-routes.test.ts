import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { primaryKey } from './fake-identity.js';
import { bearer, send, startTestGateway, type TestGateway } from './test-gateway.js';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway();
});
afterAll(async () => {
  await gateway.stop();
});

const json = { 'content-type': 'application/json' };
const post = (path: string, body: unknown) =>
  send(gateway.url, { method: 'POST', path, headers: json, body: JSON.stringify(body) });

interface Tokens {
  accessToken: string;
  tokenType: string;
  expiresIn: number;
  refreshToken: string;
  refreshExpiresIn: number;
}

let counter = 0;
async function registeredUser() {
  const credentials = { email: `user${++counter}@example.test`, password: 'correct horse battery' };
  expect((await post('/v1/auth/register', credentials)).status).toBe(201);
  return credentials;
}

describe('POST /v1/auth/register', () => {
  test('when a new email registers, then it is 201 with the user id, the email and the customer role', async () => {
    const response = await post('/v1/auth/register', {
      email: 'Alice@Example.test',
      password: 'correct horse battery',
    });

    expect(response.status).toBe(201);
    expect(response.json()).toEqual({
      userId: expect.stringMatching(/^[0-9a-f-]{36}$/) as unknown,
      email: 'alice@example.test',
      role: 'customer',
    });
  });

  test('when the email is taken, then it is 409 IDENTITY_EMAIL_TAKEN', async () => {
    const credentials = await registeredUser();
    const response = await post('/v1/auth/register', credentials);
    expect(response.status).toBe(409);
    expect(response.json()).toMatchObject({ error: { code: 'IDENTITY_EMAIL_TAKEN' } });
  });

  test('when the password is too short for the policy, then it is 400 IDENTITY_INVALID_REGISTRATION', async () => {
    const response = await post('/v1/auth/register', {
      email: 'b@example.test',
      password: 'short',
    });
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'IDENTITY_INVALID_REGISTRATION' } });
  });

  test('when the body names a role, then it is 400 VALIDATION_FAILED (nobody registers as admin)', async () => {
    const before = gateway.identity.writes();
    const response = await post('/v1/auth/register', {
      email: 'mallory@example.test',
      password: 'correct horse battery',
      role: 'admin',
    });
    expect(response.status).toBe(400);
    expect(response.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED' } });
    expect(gateway.identity.writes()).toEqual(before);
  });
});

describe('POST /v1/auth/login', () => {
  test('when the credentials are right, then it is 200 with a Bearer token pair that is never cached, and the token opens the API', async () => {
    const credentials = await registeredUser();

    const response = await post('/v1/auth/login', credentials);

    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toBe('no-store');
    const tokens = response.json() as Tokens;
    expect(tokens).toMatchObject({ tokenType: 'Bearer', expiresIn: 900 });
    const orders = await send(gateway.url, {
      path: '/v1/orders',
      headers: bearer(tokens.accessToken),
    });
    expect(orders.status).toBe(200);
  });

  test('when the password is wrong, then it is 401 IDENTITY_INVALID_CREDENTIALS with WWW-Authenticate', async () => {
    const { email } = await registeredUser();

    const response = await post('/v1/auth/login', { email, password: 'wrong password!' });

    expect(response.status).toBe(401);
    expect(response.headers['www-authenticate']).toBe('Bearer');
    expect(response.json()).toMatchObject({ error: { code: 'IDENTITY_INVALID_CREDENTIALS' } });
  });
});

describe('POST /v1/auth/refresh and /v1/auth/logout', () => {
  test('when a refresh token is used, then a new pair is issued, and using the old one again is 401 and revokes the new one', async () => {
    const credentials = await registeredUser();
    const login = (await post('/v1/auth/login', credentials)).json() as Tokens;

    const refreshed = await post('/v1/auth/refresh', { refreshToken: login.refreshToken });
    const reuse = await post('/v1/auth/refresh', { refreshToken: login.refreshToken });
    const next = await post('/v1/auth/refresh', {
      refreshToken: (refreshed.json() as Tokens).refreshToken,
    });

    expect(refreshed.status).toBe(200);
    expect(refreshed.headers['cache-control']).toBe('no-store');
    expect(reuse.status).toBe(401);
    expect(reuse.json()).toMatchObject({ error: { code: 'IDENTITY_INVALID_REFRESH_TOKEN' } });
    expect(next.status).toBe(401);
  });

  test('when a user logs out, then it is 204 and the refresh token no longer works', async () => {
    const credentials = await registeredUser();
    const login = (await post('/v1/auth/login', credentials)).json() as Tokens;

    const logout = await post('/v1/auth/logout', { refreshToken: login.refreshToken });
    const refresh = await post('/v1/auth/refresh', { refreshToken: login.refreshToken });

    expect(logout.status).toBe(204);
    expect(logout.text).toBe('');
    expect(refresh.status).toBe(401);
  });

  test('when an unknown refresh token is logged out, then it is 204 as well', async () => {
    expect((await post('/v1/auth/logout', { refreshToken: 'unknown-token' })).status).toBe(204);
  });
});

describe('GET /.well-known/jwks.json', () => {
  test('when the JWKS is read without a token, then it lists the public keys only, cacheable briefly', async () => {
    const response = await send(gateway.url, { path: '/.well-known/jwks.json' });

    expect(response.status).toBe(200);
    expect(response.headers['cache-control']).toMatch(/^public, max-age=\d+$/);
    expect(response.json()).toEqual({
      keys: [
        {
          kty: 'EC',
          crv: 'P-256',
          x: primaryKey.jwk.x,
          y: primaryKey.jwk.y,
          kid: primaryKey.kid,
          alg: 'ES256',
          use: 'sig',
        },
      ],
    });
  });
});
