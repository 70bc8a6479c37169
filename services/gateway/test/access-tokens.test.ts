import { createHmac, randomUUID } from 'node:crypto';
import { exportJWK, exportSPKI, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  newTestKey,
  primaryKey,
  signToken,
  testAudience,
  testIssuer,
  type TestKey,
} from './fake-identity.js';
import {
  bearer,
  postOrder,
  orderHeaders,
  send,
  startTestGateway,
  validBody,
  type TestGateway,
} from './test-gateway.js';

/**
 * The token suite: every way of forging or misusing an access token is refused with 401
 * AUTH_TOKEN_INVALID and `WWW-Authenticate: Bearer error="invalid_token"`, on every protected
 * route, without reaching a service.
 */
const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);
const claims = (extra: Record<string, unknown> = {}) => ({
  sub: 'customer-1',
  role: 'customer',
  iss: testIssuer,
  aud: testAudience,
  iat: now(),
  nbf: now(),
  exp: now() + 900,
  jti: randomUUID(),
  ...extra,
});

let gateway: TestGateway;
let attacker: TestKey;
const skewSeconds = 30;
const refetchIntervalMs = 200;
beforeAll(async () => {
  gateway = await startTestGateway({
    service: {
      auth: { clockSkewMs: skewSeconds * 1000, jwksRefetchMinIntervalMs: refetchIntervalMs },
    },
  });
  attacker = await newTestKey();
});
afterAll(async () => {
  await gateway.stop();
});

/** HMAC "signature" over header.payload with `secret`, as an attacker would compute it. */
function hmacToken(header: Record<string, unknown>, payload: unknown, secret: string | Buffer) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

async function forgedTokens(): Promise<[string, string][]> {
  const publicPem = await exportSPKI(primaryKey.publicKey);
  const publicJwkText = JSON.stringify(await exportJWK(primaryKey.publicKey));
  const valid = await signToken();
  const [validHeader, validPayload, validSignature] = valid.split('.') as [string, string, string];
  const other = await signToken({ sub: 'customer-2' });
  return [
    ['alg none with no signature', `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`],
    [
      'alg none with a signature',
      `${b64({ alg: 'none', kid: primaryKey.kid })}.${b64(claims())}.AAAA`,
    ],
    [
      'alg "None" in another case',
      `${b64({ alg: 'None', kid: primaryKey.kid })}.${b64(claims())}.x`,
    ],
    [
      'HS256 signed with the public key (PEM)',
      hmacToken({ alg: 'HS256', kid: primaryKey.kid }, claims(), publicPem),
    ],
    [
      'HS256 signed with the public key (JWK)',
      hmacToken({ alg: 'HS256', kid: primaryKey.kid }, claims(), publicJwkText),
    ],
    [
      'HS256 signed with the x coordinate',
      hmacToken(
        { alg: 'HS256', kid: primaryKey.kid },
        claims(),
        Buffer.from(primaryKey.jwk.x, 'base64url'),
      ),
    ],
    [
      'ES256 by another key under the real kid',
      await signToken({}, { key: attacker, header: { alg: 'ES256', kid: primaryKey.kid } }),
    ],
    ['ES256 by another key with its own kid', await signToken({}, { key: attacker })],
    [
      'ES256 by another key embedding its jwk',
      await signToken(
        {},
        { key: attacker, header: { alg: 'ES256', kid: primaryKey.kid, jwk: attacker.jwk } },
      ),
    ],
    [
      'ES256 with a jku pointing elsewhere',
      await signToken(
        {},
        {
          key: attacker,
          header: { alg: 'ES256', kid: attacker.kid, jku: 'http://127.0.0.1:1/jwks' },
        },
      ),
    ],
    ['no kid', await signToken({}, { header: { alg: 'ES256' } })],
    ['an empty kid', await signToken({}, { header: { alg: 'ES256', kid: '' } })],
    [
      'alg ES384 in the header',
      `${b64({ alg: 'ES384', kid: primaryKey.kid })}.${validPayload}.${validSignature}`,
    ],
    [
      'alg RS256 in the header',
      `${b64({ alg: 'RS256', kid: primaryKey.kid })}.${validPayload}.${validSignature}`,
    ],
    [
      'a payload swapped under a valid signature',
      `${validHeader}.${b64(claims({ sub: 'customer-2' }))}.${validSignature}`,
    ],
    [
      'the signature of another token',
      `${validHeader}.${validPayload}.${other.split('.')[2] ?? ''}`,
    ],
    ['a truncated signature', valid.slice(0, -4)],
    ['no signature', `${validHeader}.${validPayload}.`],
    ['two parts only', `${validHeader}.${validPayload}`],
    ['a JWE-shaped token', `${validHeader}.${validPayload}.${validSignature}.a.b`],
    ['junk', 'not-a-token'],
    ['a wrong issuer', await signToken({ iss: 'urn:evil:identity' })],
    ['no issuer', await signToken({ iss: undefined })],
    ['a wrong audience', await signToken({ aud: 'urn:orderly:other' })],
    ['an audience list without ours', await signToken({ aud: ['urn:a', 'urn:b'] })],
    ['no audience', await signToken({ aud: undefined })],
    [
      'expired beyond the clock skew',
      await signToken({ iat: now() - 3600, nbf: now() - 3600, exp: now() - skewSeconds - 5 }),
    ],
    ['no expiry', await signToken({ exp: undefined })],
    ['not valid yet (nbf beyond the skew)', await signToken({ nbf: now() + skewSeconds + 60 })],
    [
      'issued in the future (iat beyond the skew)',
      await signToken({ iat: now() + skewSeconds + 60, nbf: undefined }),
    ],
    ['no iat', await signToken({ iat: undefined })],
    ['no jti', await signToken({ jti: undefined })],
    ['no subject', await signToken({ sub: undefined })],
    ['a subject that is not an id', await signToken({ sub: '../customer-2' })],
    ['a numeric subject', await signToken({ sub: 42 })],
    ['an unknown role', await signToken({ role: 'superuser' })],
    ['no role', await signToken({ role: undefined })],
    ['a string exp', await signToken({ exp: String(now() + 900) })],
    ['a token longer than allowed', await signToken({ pad: 'x'.repeat(5000) })],
  ];
}

let cases: [string, string][];
beforeAll(async () => {
  cases = await forgedTokens();
});

const protectedRoutes = [
  { method: 'GET', path: '/v1/orders' },
  { method: 'GET', path: '/v1/orders/00000000-0000-4000-8000-000000000000' },
  { method: 'POST', path: '/v1/orders', body: JSON.stringify(validBody) },
  { method: 'POST', path: '/v1/admin/products', body: '{"sku":"SKU-9","name":"x","priceCents":1}' },
  { method: 'POST', path: '/v1/admin/stock', body: '{"sku":"SKU-9","delta":1}' },
  { method: 'POST', path: '/v1/admin/keys/rotate' },
];

describe('forged and misused access tokens', () => {
  test('when a valid token is sent, then the protected route answers (the control case)', async () => {
    const response = await send(gateway.url, {
      path: '/v1/orders',
      headers: bearer(await signToken()),
    });
    expect(response.status).toBe(200);
  });

  test('when any forged token is sent to any protected route, then it is 401 AUTH_TOKEN_INVALID with WWW-Authenticate and no service is called', async () => {
    const before = {
      placed: gateway.orders.calls.placeOrder.length,
      got: gateway.orders.calls.getOrder,
      listed: gateway.orders.calls.listOrders.length,
      inventory: { ...gateway.inventory.calls },
      rotations: gateway.identity.calls.rotate,
    };
    for (const [label, token] of cases) {
      for (const route of protectedRoutes) {
        const response = await send(gateway.url, {
          method: route.method,
          path: route.path,
          headers: {
            ...bearer(token),
            'content-type': 'application/json',
            'idempotency-key': 'k1',
          },
          ...(route.body ? { body: route.body } : {}),
        });
        const what = `${label} on ${route.method} ${route.path}: ${response.status} ${response.text}`;
        expect(response.status, what).toBe(401);
        expect(response.headers['www-authenticate'], what).toBe('Bearer error="invalid_token"');
        expect(response.json(), what).toEqual({
          error: { code: 'AUTH_TOKEN_INVALID', message: 'the access token is not valid' },
        });
      }
    }
    expect(gateway.orders.calls.placeOrder.length).toBe(before.placed);
    expect(gateway.orders.calls.getOrder).toBe(before.got);
    expect(gateway.orders.calls.listOrders.length).toBe(before.listed);
    expect(gateway.inventory.calls).toEqual(before.inventory);
    expect(gateway.identity.calls.rotate).toBe(before.rotations);
  });

  test.each([
    ['no Authorization header', undefined, 'AUTH_TOKEN_MISSING', 'Bearer'],
    ['another scheme (Basic)', 'Basic YWxpY2U6c2VjcmV0', 'AUTH_TOKEN_MISSING', 'Bearer'],
    ['Bearer without a token', 'Bearer', 'AUTH_TOKEN_INVALID', 'Bearer error="invalid_token"'],
    [
      'Bearer with two tokens',
      'Bearer a.b.c d.e.f',
      'AUTH_TOKEN_INVALID',
      'Bearer error="invalid_token"',
    ],
  ])(
    'when the request has %s, then it is 401 %s',
    async (_what, authorization, code, challenge) => {
      const response = await send(gateway.url, {
        path: '/v1/orders',
        headers: authorization === undefined ? {} : { authorization },
      });

      expect(response.status).toBe(401);
      expect(response.headers['www-authenticate']).toBe(challenge);
      expect(response.json()).toMatchObject({ error: { code } });
    },
  );

  test('when a token expired less than the clock skew ago, then it is still accepted (tolerance for clock drift)', async () => {
    const token = await signToken({ iat: now() - 900, nbf: now() - 900, exp: now() - 5 });
    expect((await send(gateway.url, { path: '/v1/orders', headers: bearer(token) })).status).toBe(
      200,
    );
  });

  test('when the scheme is written in lower case, then the token is still read (RFC 7235 schemes are case-insensitive)', async () => {
    const response = await send(gateway.url, {
      path: '/v1/orders',
      headers: { authorization: `bearer ${await signToken()}` },
    });
    expect(response.status).toBe(200);
  });

  test('when many tokens with unknown kids arrive, then the JWKS is refetched at most once per interval', async () => {
    const callsBefore = gateway.identity.calls.jwks;
    const started = Date.now();
    const tokens = await Promise.all(
      Array.from({ length: 20 }, async () => signToken({}, { key: await newTestKey() })),
    );

    const responses = await Promise.all(
      tokens.map((token) => send(gateway.url, { path: '/v1/orders', headers: bearer(token) })),
    );

    expect(responses.map((r) => r.status)).toEqual(tokens.map(() => 401));
    const elapsedIntervals = Math.ceil((Date.now() - started) / refetchIntervalMs);
    expect(gateway.identity.calls.jwks - callsBefore).toBeLessThanOrEqual(elapsedIntervals + 1);
  });
});

describe('the JWKS cache protects identity', () => {
  test('when /.well-known/jwks.json is requested many times, then identity is asked at most once', async () => {
    const cached = await startTestGateway({
      service: { auth: { jwksRefetchMinIntervalMs: 60_000, jwksMaxAgeMs: 600_000 } },
    });
    try {
      const callsBefore = cached.identity.calls.jwks;

      const responses = await Promise.all(
        Array.from({ length: 20 }, () => send(cached.url, { path: '/.well-known/jwks.json' })),
      );
      for (let i = 0; i < 10; i++) await send(cached.url, { path: '/.well-known/jwks.json' });

      expect(responses.map((r) => r.status)).toEqual(responses.map(() => 200));
      expect(responses[0]?.json()).toEqual({
        keys: [expect.objectContaining({ kid: primaryKey.kid })],
      });
      expect(cached.identity.calls.jwks - callsBefore).toBeLessThanOrEqual(1);
    } finally {
      await cached.stop();
    }
  });

  test('when many concurrent requests carry tokens of unknown kids, then they share at most one JWKS fetch and are refused promptly', async () => {
    const intervalMs = 10_000;
    const cached = await startTestGateway({
      service: { auth: { jwksRefetchMinIntervalMs: intervalMs, jwksMaxAgeMs: 600_000 } },
    });
    try {
      // The cache holds the published keys.
      const valid = await signToken();
      expect((await send(cached.url, { path: '/v1/orders', headers: bearer(valid) })).status).toBe(
        200,
      );
      const callsBefore = cached.identity.calls.jwks;
      const unknownKidTokens = await Promise.all(
        Array.from({ length: 40 }, async () => signToken({}, { key: await newTestKey() })),
      );
      const started = Date.now();

      const first = await Promise.all(
        unknownKidTokens
          .slice(0, 20)
          .map((token) => send(cached.url, { path: '/v1/orders', headers: bearer(token) })),
      );
      const second = await Promise.all(
        unknownKidTokens
          .slice(20)
          .map((token) => send(cached.url, { path: '/v1/orders', headers: bearer(token) })),
      );
      const elapsedMs = Date.now() - started;

      for (const response of [...first, ...second]) {
        expect(response.status).toBe(401);
        expect(response.json()).toMatchObject({ error: { code: 'AUTH_TOKEN_INVALID' } });
      }
      expect(cached.identity.calls.jwks - callsBefore).toBeLessThanOrEqual(1);
      expect(elapsedMs).toBeLessThan(intervalMs / 4);
    } finally {
      await cached.stop();
    }
  });
});

describe('key rotation at the gateway', () => {
  test('when identity rotates its key right after the gateway fetched the JWKS, then tokens of the old and the new key are both accepted at once', async () => {
    const rotating = await startTestGateway({
      service: { auth: { jwksRefetchMinIntervalMs: 1500 } },
    });
    try {
      // The gateway caches the JWKS with the old key only.
      const before = await signToken({ sub: 'rotating-customer' });
      expect(
        (await send(rotating.url, { path: '/v1/orders', headers: bearer(before) })).status,
      ).toBe(200);

      const { kid } = await rotating.identity.rotate();
      const after = await signToken(
        { sub: 'rotating-customer' },
        { key: rotating.identity.keys.current },
      );

      const withNewKey = await postOrder(rotating.url, validBody, orderHeaders(bearer(after)));
      const withOldKey = await postOrder(rotating.url, validBody, orderHeaders(bearer(before)));

      expect(rotating.identity.keys.current.kid).toBe(kid);
      expect(withNewKey.status).toBe(202);
      expect(withOldKey.status).toBe(202);
      const jwks = (await send(rotating.url, { path: '/.well-known/jwks.json' })).json() as {
        keys: { kid: string }[];
      };
      expect(jwks.keys.map((k) => k.kid)).toEqual([kid, primaryKey.kid]);
    } finally {
      await rotating.stop();
    }
  });

  test('when a key leaves the JWKS (retired), then its tokens are refused once the cache is refreshed', async () => {
    const retiring = await startTestGateway({
      service: { auth: { jwksRefetchMinIntervalMs: 0, jwksMaxAgeMs: 1 } },
    });
    try {
      const oldToken = await signToken();
      expect(
        (await send(retiring.url, { path: '/v1/orders', headers: bearer(oldToken) })).status,
      ).toBe(200);
      retiring.identity.keys.published = [await newTestKey()];

      // The old cache answers the request that notices it is stale and refreshes it in the background.
      await expect
        .poll(
          async () =>
            (await send(retiring.url, { path: '/v1/orders', headers: bearer(oldToken) })).status,
          { timeout: 2000, interval: 20 },
        )
        .toBe(401);
    } finally {
      await retiring.stop();
    }
  });

  test('when a token that was accepted (and remembered) expires, then the next request with it is refused', async () => {
    const strict = await startTestGateway({ service: { auth: { clockSkewMs: 0 } } });
    try {
      const expiresAt = Math.floor(Date.now() / 1000) + 2;
      const token = await signToken({ exp: expiresAt });
      const before = await send(strict.url, { path: '/v1/orders', headers: bearer(token) });
      expect(before.status).toBe(200);
      await new Promise((resolve) => setTimeout(resolve, expiresAt * 1000 - Date.now() + 50));

      const after = await send(strict.url, { path: '/v1/orders', headers: bearer(token) });

      expect(after.status).toBe(401);
      expect(after.json()).toMatchObject({ error: { code: 'AUTH_TOKEN_INVALID' } });
    } finally {
      await strict.stop();
    }
  });

  test('when a token signed by HS256 with a secret is built with SignJWT, then it is refused too', async () => {
    const token = await new SignJWT(claims())
      .setProtectedHeader({ alg: 'HS256', kid: primaryKey.kid })
      .sign(new TextEncoder().encode('a-shared-secret-the-gateway-never-accepts'));
    expect((await send(gateway.url, { path: '/v1/orders', headers: bearer(token) })).status).toBe(
      401,
    );
  });
});
