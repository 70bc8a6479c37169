import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { MemoryBus, loadConfigDocument, type ServiceRuntime } from '@orderly/platform';
import { dropTestDatabase, eventually, uniqueName } from '@orderly/platform/testing';
import {
  buildAllServices,
  hasDatabase,
  serviceNames,
  startAll,
  stopAll,
  type ServiceName,
} from '@orderly/system';
import { freePort, postgresUrl } from './system-harness.js';

/**
 * Tokens and key rotation across the real system (every service in this process, real
 * PostgreSQL): customers register and log in through the gateway, an admin rotates the signing
 * key, and tokens issued before and after the rotation both work until they expire; orders are
 * placed across the rotation; the old key leaves the JWKS once all its tokens have expired; the
 * operator command `orderly keys rotate` does the same as the admin route. Access tokens live 5 s
 * here so expiry and retirement can be watched.
 */
const repoRoot = new URL('../../', import.meta.url).pathname;
const accessTokenTtlMs = 5000;
const clockSkewMs = 1000;
const admin = { email: 'admin@rotation.test', password: `admin-${randomUUID()}` };
const dataDir = mkdtempSync(join(tmpdir(), 'orderly-rotation-'));
const databases: Partial<Record<ServiceName, string>> = {};
const urls = new Map<ServiceName, string>();
const bus = new MemoryBus();
let runtimes: Map<ServiceName, ServiceRuntime>;

beforeAll(async () => {
  const ports: Record<string, number> = {};
  for (const name of serviceNames) ports[name] = await freePort();
  const services: Record<string, Record<string, unknown>> = {};
  for (const name of serviceNames) {
    services[name] = { port: ports[name], operatorPort: 0 };
    if (hasDatabase(name)) {
      databases[name] = uniqueName(`orderly_test_rotation_${name}`);
      services[name].database = databases[name];
    }
  }
  const generous = { burst: 100_000, perMinute: 100_000 };
  Object.assign(services.gateway!, {
    orderServiceUrl: `http://127.0.0.1:${ports.order}`,
    inventoryServiceUrl: `http://127.0.0.1:${ports.inventory}`,
    identityServiceUrl: `http://127.0.0.1:${ports.identity}`,
    auth: { clockSkewMs, jwksRefetchMinIntervalMs: 500, jwksMaxAgeMs: 1000 },
    rateLimits: {
      perAddress: generous,
      perUser: generous,
      login: generous,
      loginAccount: generous,
    },
  });
  Object.assign(services.identity!, {
    accessTokenTtlMs,
    clockSkewMs,
    keyRetireSweepIntervalMs: 200,
    bootstrapAdmin: admin,
  });
  Object.assign(services.inventory!, { seedDemoCatalog: false });
  const document = loadConfigDocument({
    argv: [],
    env: {},
    overrides: {
      logLevel: process.env.ORDERLY_TEST_LOG_LEVEL ?? 'silent',
      dataDir,
      postgres: { url: postgresUrl },
      bus: { kind: 'memory', retryBackoffMs: [20, 50, 100] },
      services,
    },
  });
  runtimes = await buildAllServices(document, { bus });
  for (const [name, url] of await startAll(runtimes)) urls.set(name, url);
}, 120_000);

afterAll(async () => {
  if (runtimes) await stopAll(runtimes);
  await bus.close();
  for (const database of Object.values(databases)) await dropTestDatabase(postgresUrl, database);
  rmSync(dataDir, { recursive: true, force: true });
});

const gateway = () => urls.get('gateway') ?? '';

async function call(
  method: string,
  path: string,
  options: { token?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${gateway()}${path}`, {
    method,
    headers: {
      ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
      ...options.headers,
    },
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

async function login(credentials: { email: string; password: string }) {
  const response = await call('POST', '/v1/auth/login', { body: credentials });
  expect(response.status, JSON.stringify(response.body)).toBe(200);
  return response.body as { accessToken: string; refreshToken: string };
}

async function placeOrder(token: string) {
  return call('POST', '/v1/orders', {
    token,
    headers: { 'idempotency-key': randomUUID() },
    body: { lines: [{ sku: 'ROT-1', quantity: 1 }], paymentMethod: 'pm_card_ok' },
  });
}

function runCli(
  args: string[],
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'tools/cli/src/main.ts', ...args], {
      cwd: repoRoot,
      // The services' dataDir: the CLI's operator key is created beside their keys, so they trust it.
      env: { ...process.env, ORDERLY_LOG_LEVEL: 'silent', ORDERLY_DATA_DIR: dataDir },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid;
const publishedKids = async () =>
  ((await call('GET', '/.well-known/jwks.json')).body.keys as { kid: string }[]).map((k) => k.kid);

describe('tokens across a key rotation (whole system)', () => {
  const alice = { email: 'alice@rotation.test', password: 'alice-password-1' };
  const bob = { email: 'bob@rotation.test', password: 'bob-password-12' };

  test('when customers register, an admin sets up the catalog and a customer orders, then the order belongs to the token subject only', async () => {
    expect((await call('POST', '/v1/auth/register', { body: alice })).status).toBe(201);
    expect((await call('POST', '/v1/auth/register', { body: bob })).status).toBe(201);
    const adminToken = (await login(admin)).accessToken;
    const customerToken = (await login(alice)).accessToken;

    const asCustomer = await call('POST', '/v1/admin/products', {
      token: customerToken,
      body: { sku: 'ROT-1', name: 'Rotating mug', priceCents: 900 },
    });
    const product = await call('POST', '/v1/admin/products', {
      token: adminToken,
      body: { sku: 'ROT-1', name: 'Rotating mug', priceCents: 900 },
    });
    const stock = await call('POST', '/v1/admin/stock', {
      token: adminToken,
      body: { sku: 'ROT-1', delta: 100 },
    });
    const order = await placeOrder(customerToken);
    const bobToken = (await login(bob)).accessToken;
    const bobReads = await call('GET', `/v1/orders/${String(order.body.orderId)}`, {
      token: bobToken,
    });
    const aliceReads = await call('GET', `/v1/orders/${String(order.body.orderId)}`, {
      token: customerToken,
    });

    expect(asCustomer.status).toBe(403);
    expect(product.status).toBe(200);
    expect(stock.body).toMatchObject({ sku: 'ROT-1', available: 100 });
    expect(order.status).toBe(202);
    expect(bobReads.status).toBe(404);
    expect(aliceReads.status).toBe(200);
  });

  test('when the key is rotated by an admin, then tokens from before and after both work, orders are placed with both, and the old key retires once its tokens expired', async () => {
    const before = await login(alice);
    const oldKid = kidOf(before.accessToken);
    const adminToken = (await login(admin)).accessToken;

    const rotation = await call('POST', '/v1/admin/keys/rotate', { token: adminToken });
    const after = await login(alice);

    expect(rotation.status).toBe(200);
    expect(rotation.body).toMatchObject({ retiringKid: oldKid });
    expect(kidOf(after.accessToken)).toBe(rotation.body.kid);
    expect(await publishedKids()).toEqual([rotation.body.kid, oldKid]);
    // An order with each token, right across the rotation.
    expect((await placeOrder(before.accessToken)).status).toBe(202);
    expect((await placeOrder(after.accessToken)).status).toBe(202);
    expect((await call('GET', '/v1/orders', { token: before.accessToken })).status).toBe(200);
    expect((await call('GET', '/v1/orders', { token: after.accessToken })).status).toBe(200);

    // The old token expires on its own schedule (plus the tolerated skew) ...
    await eventually(
      async () =>
        expect((await call('GET', '/v1/orders', { token: before.accessToken })).status).toBe(401),
      { timeoutMs: accessTokenTtlMs + 3 * clockSkewMs, intervalMs: 250 },
    );
    // ... and its key leaves the JWKS once every token it signed has expired.
    await eventually(async () => expect(await publishedKids()).toEqual([rotation.body.kid]), {
      timeoutMs: accessTokenTtlMs + 3 * clockSkewMs,
      intervalMs: 250,
    });
    // The refresh token of the pre-rotation login still works, and now gets the new key.
    const refreshed = await call('POST', '/v1/auth/refresh', {
      body: { refreshToken: before.refreshToken },
    });
    expect(refreshed.status).toBe(200);
    expect(kidOf(String(refreshed.body.accessToken))).toBe(rotation.body.kid);
    expect((await placeOrder(String(refreshed.body.accessToken))).status).toBe(202);
  }, 30_000);

  test('when an operator runs `orderly keys rotate`, then a new key signs from then on and `orderly keys list` shows it signing', async () => {
    const signingBefore = kidOf((await login(alice)).accessToken);
    const identityUrl = urls.get('identity') ?? '';

    // Asynchronously: the identity service answering it runs in this very process.
    const result = await runCli(['keys', 'rotate', '--yes', '--url', identityUrl, '--json']);
    const rotated = JSON.parse(result.stdout || '{}') as { kid: string; retiringKid: string };
    const after = await login(alice);
    // A rotation the gateway did not ask for reaches its cached JWKS within jwksMaxAgeMs (1 s here):
    // the gateway serves that document from its cache instead of calling identity per request.
    let published: string[] = [];
    await eventually(
      async () => {
        published = await publishedKids();
        expect(published[0]).toBe(rotated.kid);
      },
      { timeoutMs: 5_000, intervalMs: 100 },
    );
    const order = await placeOrder(after.accessToken);
    const listed = await runCli(['keys', 'list', '--url', identityUrl]);

    expect(result.status, result.stderr).toBe(0);
    expect(rotated.retiringKid).toBe(signingBefore);
    expect(kidOf(after.accessToken)).toBe(rotated.kid);
    expect(published[0]).toBe(rotated.kid);
    expect(order.status).toBe(202);
    expect(listed.status, listed.stderr).toBe(0);
    expect(listed.stdout.split('\n')[0]).toBe(`${rotated.kid}\tES256\tsigning`);
  }, 60_000);
});
