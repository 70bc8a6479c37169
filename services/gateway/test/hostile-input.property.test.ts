import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminToken, customerToken } from './fake-identity.js';
import {
  bearer,
  send,
  startTestGateway,
  type RawResponse,
  type TestGateway,
} from './test-gateway.js';

/**
 * Hostile input against every route of the public API: generated malformed, oversized,
 * wrongly-typed and boundary-value requests (several thousand per run). Whatever arrives, the
 * gateway answers without a 5xx, with JSON, with the error envelope and a stable code whenever it
 * refuses, and a refused request writes nothing anywhere behind it (accounts, refresh tokens,
 * revocations, key rotations, products, stock, orders). POST /v1/orders has its own suite
 * (malformed-input.property.test.ts).
 */
const runs = Number(process.env.ORDERLY_HOSTILE_RUNS ?? 250);
const bodyLimitBytes = 8192;

interface Case {
  readonly label: string;
  readonly headers: Record<string, string | string[]>;
  readonly body: string | undefined;
}

const json = { 'content-type': 'application/json' };

const printable = fc.string({
  unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)),
});
const latin1 = fc.string({
  unit: fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
  minLength: 1,
});
/** Any JSON that is not a string. */
const notAString = fc.oneof(
  fc.constantFrom('null', 'true', 'false', '0', '-1', '1e400', '[]', '{}', '["x"]', '{"a":"b"}'),
  fc.integer().map(String),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
);
/** Any JSON that is not an integer. */
const notAnInteger = fc.oneof(
  fc.constantFrom('null', 'true', '"1"', '[]', '{}', '1.5', '1e400', '-1e400', '0.0000001'),
  fc
    .double({ noNaN: true, noDefaultInfinity: true })
    .filter((x) => !Number.isInteger(x))
    .map(String),
  fc.string().map((s) => JSON.stringify(s)),
);
const dangerousKeys = fc.constantFrom(
  '__proto__',
  'constructor',
  'prototype',
  'role',
  'customerId',
  'isAdmin',
  'sub',
  '',
);
const jsonJunk = fc.oneof(
  fc.jsonValue().map((value) => JSON.stringify(value)),
  fc.constantFrom('1e400', '-0', '"\\u0000"', 'true', 'null', '[]', '{}', '[{}]', '{"a":'),
);
const contentTypeJunk = fc.oneof(
  fc.constantFrom(
    'text/plain',
    'application/xml',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=x',
    'application/',
    ';;;',
    'json',
  ),
  latin1,
);

/** Invalid-by-construction requests for a JSON route: a valid body with exactly one thing broken, or junk. */
function bodyCases(
  headers: Record<string, string>,
  valid: Record<string, unknown>,
  fieldJunk: Record<string, fc.Arbitrary<string>>,
): fc.Arbitrary<Case> {
  const validText = JSON.stringify(valid);
  const withField = (field: string, raw: string) => {
    const placeholder = '"__FIELD__"';
    return JSON.stringify({ ...valid, [field]: '__FIELD__' }).replace(placeholder, raw);
  };
  const cases: fc.Arbitrary<Case>[] = [
    jsonJunk.map((body) => ({ label: 'json junk', headers, body })),
    fc.string().map((body) => ({ label: 'text junk', headers, body })),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => ({
      label: 'bytes',
      headers,
      body: Buffer.from(bytes).toString('latin1'),
    })),
    fc.integer({ min: 1, max: validText.length - 1 }).map((n) => ({
      label: 'truncated',
      headers,
      body: validText.slice(0, n),
    })),
    fc.constantFrom(...Object.keys(valid)).map((field) => {
      const body: Record<string, unknown> = { ...valid };
      delete body[field];
      return { label: `missing ${field}`, headers, body: JSON.stringify(body) };
    }),
    fc.tuple(dangerousKeys, jsonJunk).map(([key, value]) => ({
      label: `extra key ${key}`,
      headers,
      body: validText.replace(/^\{/, `{${JSON.stringify(key)}:${value},`),
    })),
    contentTypeJunk.map((type) => ({
      label: 'content-type',
      headers: { ...headers, 'content-type': type },
      body: validText,
    })),
    fc.constant({
      label: 'oversized body',
      headers,
      body: JSON.stringify({ ...valid, padding: 'x'.repeat(bodyLimitBytes) }),
    }),
    fc.constant({ label: 'no body', headers: { ...headers, 'content-type': '' }, body: undefined }),
    ...Object.entries(fieldJunk).map(([field, junk]) =>
      junk.map((raw) => ({
        label: `${field}=${raw.slice(0, 40)}`,
        headers,
        body: withField(field, raw),
      })),
    ),
  ];
  return fc.oneof(...cases);
}

const emailJunk = fc.oneof(
  notAString,
  fc.constantFrom('""', '"a"', '"ab"', JSON.stringify(`${'a'.repeat(250)}@x.io`)),
  // Strings the schema accepts but that are no email: identity refuses them.
  printable.filter((s) => s.length >= 3 && !s.includes('@')).map((s) => JSON.stringify(s)),
);
const passwordJunk = fc.oneof(
  notAString,
  fc.constantFrom('""', JSON.stringify('p'.repeat(129))),
  // Below the policy's minimum length: identity refuses it.
  printable.filter((s) => s.length >= 1 && s.length < 10).map((s) => JSON.stringify(s)),
);
const refreshTokenJunk = fc.oneof(
  notAString,
  fc.constantFrom('""', JSON.stringify('r'.repeat(257))),
  printable.filter((s) => s.length >= 1).map((s) => JSON.stringify(s)),
);
const skuJunk = fc.oneof(
  notAString,
  fc
    .string()
    .filter((s) => !/^[A-Z0-9-]{1,32}$/.test(s))
    .map((s) => JSON.stringify(s)),
);

let gateway: TestGateway;
let customerAuth: Record<string, string>;
let adminAuth: Record<string, string>;
beforeAll(async () => {
  gateway = await startTestGateway({ service: { bodyLimitBytes } });
  customerAuth = bearer(await customerToken('hostile-customer'));
  adminAuth = bearer(await adminToken('hostile-admin'));
  gateway.identity.addUser({
    email: 'known@example.test',
    password: 'the right one!',
    role: 'customer',
  });
});
afterAll(async () => {
  await gateway.stop();
});

function everythingWritten() {
  return {
    identity: gateway.identity.writes(),
    inventory: { ...gateway.inventory.calls },
    orders: gateway.orders.calls.placeOrder.length,
  };
}

function expectSafeAnswer(response: RawResponse, label: string): void {
  const what = `${label}: ${response.status} ${response.text.slice(0, 200)}`;
  expect(response.status, what).toBeLessThan(500);
  if (response.status === 204) return;
  expect(response.headers['content-type'], what).toMatch(/^application\/json/);
  const body = response.json();
  if (response.status >= 400) {
    expect(body, what).toEqual({
      error: {
        code: expect.stringMatching(/^[A-Z][A-Z0-9_]+$/) as unknown,
        message: expect.any(String) as unknown,
      },
    });
  }
}

async function sendCase(method: string, path: string, input: Case): Promise<RawResponse> {
  const headers = { ...input.headers };
  for (const [name, value] of Object.entries(headers)) if (value === '') delete headers[name];
  return send(gateway.url, { method, path, headers, body: input.body });
}

/** The property every refused write shares: a 4xx envelope and nothing written anywhere. */
async function assertRefused(
  method: string,
  path: string,
  cases: fc.Arbitrary<Case>,
  allowed: (status: number) => boolean = () => false,
): Promise<void> {
  await fc.assert(
    fc.asyncProperty(cases, async (input) => {
      const before = everythingWritten();
      const response = await sendCase(method, path, input);
      expectSafeAnswer(response, input.label);
      if (!allowed(response.status)) {
        expect(response.status, `${input.label}: ${response.text}`).toBeGreaterThanOrEqual(400);
      }
      expect(everythingWritten(), input.label).toEqual(before);
    }),
    { numRuns: runs },
  );
}

describe('hostile input on the auth routes', () => {
  test('when POST /v1/auth/register gets anything malformed, then it is a 4xx envelope and no account is created', async () => {
    await assertRefused(
      'POST',
      '/v1/auth/register',
      bodyCases(
        json,
        { email: 'new@example.test', password: 'long enough password' },
        {
          email: emailJunk,
          password: passwordJunk,
        },
      ),
    );
  });

  test('when POST /v1/auth/login gets anything malformed or wrong, then it is a 4xx envelope and no token is issued', async () => {
    await assertRefused(
      'POST',
      '/v1/auth/login',
      bodyCases(
        json,
        { email: 'known@example.test', password: 'not the right one' },
        {
          email: emailJunk,
          password: passwordJunk,
        },
      ),
    );
  });

  test('when POST /v1/auth/refresh gets anything malformed or unknown, then it is a 4xx envelope and nothing is issued', async () => {
    await assertRefused(
      'POST',
      '/v1/auth/refresh',
      bodyCases(json, { refreshToken: 'some-unknown-token' }, { refreshToken: refreshTokenJunk }),
    );
  });

  test('when POST /v1/auth/logout gets anything malformed or unknown, then it is a 4xx envelope (or 204 for an unknown token) and nothing is revoked', async () => {
    await assertRefused(
      'POST',
      '/v1/auth/logout',
      bodyCases(json, { refreshToken: 'some-unknown-token' }, { refreshToken: refreshTokenJunk }),
      (status) => status === 204,
    );
  });
});

describe('hostile input on the admin routes (with an admin token)', () => {
  const admin = () => ({ ...json, ...adminAuth });

  test('when POST /v1/admin/products gets anything malformed, then it is a 4xx envelope and inventory is never called', async () => {
    await assertRefused(
      'POST',
      '/v1/admin/products',
      bodyCases(
        admin(),
        { sku: 'SKU-1', name: 'Mug', priceCents: 100 },
        {
          sku: skuJunk,
          name: fc.oneof(notAString, fc.constantFrom('""', JSON.stringify('n'.repeat(201)))),
          priceCents: fc.oneof(
            notAnInteger,
            fc.integer({ max: -1 }).map(String),
            fc.constantFrom('9007199254740992', '1e21', '-0.5'),
          ),
        },
      ),
    );
  });

  test('when POST /v1/admin/stock gets anything malformed, then it is a 4xx envelope and inventory is never called', async () => {
    await assertRefused(
      'POST',
      '/v1/admin/stock',
      bodyCases(
        admin(),
        { sku: 'SKU-1', delta: 5 },
        {
          sku: skuJunk,
          delta: fc.oneof(
            notAnInteger,
            fc.constantFrom('0', '-0', '2147483648', '-2147483648', '1e10'),
          ),
        },
      ),
    );
  });

  test('when POST /v1/admin/keys/rotate gets any body or content type, then it is a 4xx envelope and no key is rotated', async () => {
    await assertRefused(
      'POST',
      '/v1/admin/keys/rotate',
      fc.oneof(
        jsonJunk
          .filter((body) => body.trim() !== '{}')
          .map((body) => ({ label: 'json body', headers: admin(), body })),
        fc.string({ minLength: 1 }).map((body) => ({ label: 'text body', headers: admin(), body })),
        contentTypeJunk.map((type) => ({
          label: 'content-type',
          headers: { ...admin(), 'content-type': type },
          body: '{}',
        })),
      ),
    );
  });
});

describe('hostile tokens on every protected route', () => {
  const routes = [
    ['GET', '/v1/orders'],
    ['GET', '/v1/orders/00000000-0000-4000-8000-000000000000'],
    ['POST', '/v1/orders'],
    ['POST', '/v1/admin/products'],
    ['POST', '/v1/admin/stock'],
    ['POST', '/v1/admin/keys/rotate'],
  ] as const;

  test('when the Authorization header is junk, then it is 401 with WWW-Authenticate and nothing is called', async () => {
    const authorization = fc.oneof(
      printable,
      latin1,
      printable.map((s) => `Bearer ${s}`),
      fc
        .tuple(fc.base64String(), fc.base64String(), fc.base64String())
        .map(
          (parts) =>
            `Bearer ${parts.join('.').replaceAll('+', '-').replaceAll('/', '_').replaceAll('=', '')}`,
        ),
      fc.constantFrom('Bearer', 'Bearer ', 'Basic YTpi', `Bearer ${'a'.repeat(10_000)}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...routes), authorization, async ([method, path], value) => {
        const before = everythingWritten();
        const listed = gateway.orders.calls.listOrders.length;
        const read = gateway.orders.calls.getOrder;
        const response = await send(gateway.url, {
          method,
          path,
          headers: { ...json, 'idempotency-key': 'k', authorization: value },
          body: method === 'POST' ? '{}' : undefined,
        });
        expectSafeAnswer(response, `${method} ${path} with ${value.slice(0, 40)}`);
        expect(response.status, value.slice(0, 60)).toBe(401);
        expect(response.headers['www-authenticate']).toMatch(/^Bearer/);
        expect(everythingWritten()).toEqual(before);
        expect(gateway.orders.calls.listOrders.length).toBe(listed);
        expect(gateway.orders.calls.getOrder).toBe(read);
      }),
      { numRuns: runs },
    );
  });
});

describe('hostile input on the read routes', () => {
  const query = fc.oneof(
    fc.webQueryParameters(),
    printable.map((s) => encodeURIComponent(s)),
    fc.constantFrom(
      'limit=0',
      'limit=101',
      'limit=-1',
      'limit=1e2',
      'limit=1&limit=2',
      'limit[]=1',
      'limit=%00',
      'limit=9999999999',
      '%E0%A4%A',
    ),
  );

  test('when GET /v1/products, /.well-known/jwks.json and /openapi.json get junk queries and headers, then they never fail with a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('/v1/products', '/.well-known/jwks.json', '/openapi.json'),
        query,
        fc.record({
          accept: fc.oneof(printable, fc.constantFrom('application/xml', '*/*', '')),
          authorization: fc.oneof(printable, fc.constant('')),
          'if-none-match': printable,
        }),
        async (path, q, headers) => {
          const before = everythingWritten();
          const cleaned = Object.fromEntries(Object.entries(headers).filter(([, v]) => v !== ''));
          const response = await send(gateway.url, { path: `${path}?${q}`, headers: cleaned });
          expectSafeAnswer(response, `${path}?${q}`);
          expect(everythingWritten()).toEqual(before);
        },
      ),
      { numRuns: runs },
    );
  });

  test('when GET /v1/orders gets junk queries, then it is 200 or a 400 envelope, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(query, async (q) => {
        const response = await send(gateway.url, {
          path: `/v1/orders?${q}`,
          headers: customerAuth,
        });
        expectSafeAnswer(response, q);
        expect([200, 400]).toContain(response.status);
      }),
      { numRuns: runs },
    );
  });

  test('when GET /v1/orders/{orderId} gets any id, then it is a 404 (or 400 for an unreadable URL) envelope, never a 5xx', async () => {
    const id = fc.oneof(
      fc.string().map((s) => encodeURIComponent(s)),
      printable.map((s) => s.replace(/[?#/ ]/g, '')).filter((s) => s.length > 0),
      fc.uuid(),
      fc.constantFrom(
        '%',
        '%zz',
        '..%2F..%2Fadmin',
        'a'.repeat(2000),
        '00000000-0000-0000-0000-000000000000%00',
      ),
    );
    await fc.assert(
      fc.asyncProperty(id, async (orderId) => {
        const response = await send(gateway.url, {
          path: `/v1/orders/${orderId}`,
          headers: customerAuth,
        });
        expectSafeAnswer(response, orderId);
        expect([400, 404]).toContain(response.status);
      }),
      { numRuns: runs },
    );
  });
});
