import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { adminToken, defaultCustomerToken } from './fake-identity.js';
import { send, startTestGateway, type TestGateway } from './test-gateway.js';

/**
 * What the gateway serves to browsers besides the API: CORS answers for the configured origins,
 * the API reference at /docs, the operator console at /console, and the console's routes for
 * admins only. The browser itself is driven in test/e2e/console-browser.test.ts.
 */
const shop = 'https://shop.example.com';
const elsewhere = 'https://evil.example.net';

function preflight(url: string, origin: string) {
  return send(url, {
    method: 'OPTIONS',
    path: '/v1/orders',
    headers: {
      origin,
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'authorization, content-type, idempotency-key',
    },
  });
}

describe('CORS', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway({
      service: { cors: { allowedOrigins: [shop], maxAgeSeconds: 600 } },
    });
  });
  afterAll(() => gateway.stop());

  test('when an allowed origin sends a preflight, then it gets the methods, headers and max age without a token', async () => {
    const response = await preflight(gateway.url, shop);
    expect(response.status).toBe(204);
    expect(response.headers['access-control-allow-origin']).toBe(shop);
    expect(String(response.headers['access-control-allow-methods'])).toContain('POST');
    expect(String(response.headers['access-control-allow-headers'])).toContain('idempotency-key');
    expect(response.headers['access-control-max-age']).toBe('600');
  });

  test('when another origin sends a preflight, then no Access-Control-Allow-Origin allows it', async () => {
    const response = await preflight(gateway.url, elsewhere);
    // Without it the browser refuses the call, whatever else the answer says.
    expect(response.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('when an allowed origin calls the API, then the answer names it and exposes the rate-limit headers', async () => {
    const allowed = await send(gateway.url, { path: '/v1/products', headers: { origin: shop } });
    expect(allowed.status).toBe(200);
    expect(allowed.headers['access-control-allow-origin']).toBe(shop);
    expect(String(allowed.headers['access-control-expose-headers'])).toContain('retry-after');
    const refused = await send(gateway.url, {
      path: '/v1/products',
      headers: { origin: elsewhere },
    });
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
  });

  test('when no origin is configured (the default), then even a preflight gets no Access-Control header', async () => {
    const closed = await startTestGateway();
    try {
      const response = await preflight(closed.url, shop);
      expect(response.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await closed.stop();
    }
  });
});

describe('pages for browsers', () => {
  let gateway: TestGateway;
  beforeAll(async () => {
    gateway = await startTestGateway();
  });
  afterAll(() => gateway.stop());

  test('when /docs is opened, then Swagger UI is served from the gateway and reads /openapi.json', async () => {
    const redirect = await send(gateway.url, { path: '/docs' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.location).toBe('/docs/');
    const page = await send(gateway.url, { path: '/docs/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("default-src 'self'");
    expect(page.text).toContain('/docs/swagger-ui-bundle.js');
    const init = await send(gateway.url, { path: '/docs/init.js' });
    expect(init.text).toContain("url: '/openapi.json'");
    const bundle = await send(gateway.url, { path: '/docs/swagger-ui-bundle.js' });
    expect(bundle.status).toBe(200);
    expect(bundle.headers['content-type']).toContain('javascript');
    expect(bundle.text.length).toBeGreaterThan(100_000);
    const css = await send(gateway.url, { path: '/docs/swagger-ui.css' });
    expect(css.headers['content-type']).toContain('text/css');
    expect((await send(gateway.url, { path: '/docs/package.json' })).status).toBe(404);
  });

  test('when /console is opened, then the built page and its hashed assets are served, cached by content', async () => {
    expect(
      existsSync(new URL('../../../tools/console/dist/index.html', import.meta.url)),
      'the console is built by npm run generate',
    ).toBe(true);
    const page = await send(gateway.url, { path: '/console/' });
    expect(page.status).toBe(200);
    expect(page.headers['content-type']).toContain('text/html');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(page.text)?.[1];
    expect(script).toBeDefined();
    const asset = await send(gateway.url, { path: script! });
    expect(asset.status).toBe(200);
    expect(asset.headers['cache-control']).toContain('immutable');
    const again = await send(gateway.url, {
      path: script!,
      headers: { 'if-none-match': String(asset.headers.etag) },
    });
    expect(again.status).toBe(304);
    // A route inside the page (#/orders/... is client-side; a deep link falls back to the page).
    expect((await send(gateway.url, { path: '/console/orders' })).text).toBe(page.text);
  });

  test.each([
    ['GET', '/v1/admin/system'],
    ['GET', '/v1/admin/orders/00000000-0000-4000-8000-000000000000'],
    ['GET', '/v1/admin/orders/00000000-0000-4000-8000-000000000000/timeline'],
    ['GET', '/v1/admin/dead-letters'],
    ['GET', '/v1/admin/flags'],
    ['POST', '/v1/admin/dead-letters/redrive'],
  ])(
    'when %s %s is called without a token or by a customer, then it answers 401 or 403 with a stable code',
    async (method, path) => {
      const anonymous = await send(gateway.url, { method, path });
      expect(anonymous.status).toBe(401);
      expect(anonymous.json()).toMatchObject({ error: { code: 'AUTH_TOKEN_MISSING' } });
      const customer = await send(gateway.url, {
        method,
        path,
        headers: { authorization: `Bearer ${defaultCustomerToken}` },
      });
      expect(customer.status).toBe(403);
      expect(customer.json()).toMatchObject({ error: { code: 'AUTH_FORBIDDEN' } });
    },
  );

  test('when an admin asks for the flags, then every flag of the file is listed with its value and the loaded definitions', async () => {
    const response = await send(gateway.url, {
      path: '/v1/admin/flags',
      headers: { authorization: `Bearer ${await adminToken()}` },
    });
    expect(response.status).toBe(200);
    const body = response.json() as {
      hash: string;
      flags: { key: string; value: unknown }[];
      changes: { hash: string }[];
    };
    expect(body.flags).toContainEqual(
      expect.objectContaining({ key: 'payment-provider-outage', value: false }),
    );
    expect(body.changes[0]?.hash).toBe(body.hash);
  });
});
