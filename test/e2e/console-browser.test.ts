import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { describeError, orderlyClient } from '@orderly/client';
import { MemoryBus, busHeaders, loadConfigDocument, type ServiceRuntime } from '@orderly/platform';
import { dropTestDatabase, eventually, freePort } from '@orderly/platform/testing';
import {
  buildAllServices,
  serviceNames,
  servicesWithDatabase,
  startAll,
  stopAll,
  type ServiceName,
} from '@orderly/system';
import { e2eAdmin, e2eSecurityEnv, postgresUrl } from './system-harness.js';

/**
 * The operator console in a real browser: Debian's Chromium driven by Playwright, against the real
 * gateway and services (the embedded system of @orderly/system: every service in this process, on
 * the machine's PostgreSQL and the in-memory bus). An admin logs in, finds an order and watches it
 * reach CONFIRMED, redrives a dead letter, and sees a flag flip; a customer gets the login page
 * back. Screenshots go to a temporary folder, or to docs/images with ORDERLY_CONSOLE_SCREENSHOTS=
 * docs/images (`npm run docs:screenshots`), which docs/console.md shows.
 */
const chromiumPath = process.env.ORDERLY_CHROMIUM ?? '/usr/bin/chromium';
const repoRoot = resolve(new URL('../../', import.meta.url).pathname);
const screenshots = resolve(
  repoRoot,
  process.env.ORDERLY_CONSOLE_SCREENSHOTS ?? mkdtempSync(join(tmpdir(), 'orderly-console-')),
);
const phone = { width: 390, height: 844 };
const desktop = { width: 1280, height: 860 };

const id = randomBytes(3).toString('hex');
const dataDir = mkdtempSync(join(tmpdir(), 'orderly-console-data-'));
const flagsFile = join(dataDir, 'flags.json');
const databases = Object.fromEntries(
  servicesWithDatabase.map((s) => [s, `orderly_console_${id}_${s}`]),
) as Record<string, string>;
const bus = new MemoryBus();
let runtimes: Map<ServiceName, ServiceRuntime> | undefined;
let browser: Browser | undefined;
let gatewayUrl = '';

/** A consumer of the test's own that fails until it is told the fault is fixed. */
const poisonedSubject = 'events.test.v1.ConsoleProbe';
let consumerFixed = false;

beforeAll(async () => {
  if (!existsSync(chromiumPath))
    throw new Error(`no Chromium at ${chromiumPath}: apt-get install chromium (.ci/run does)`);
  if (!existsSync(join(repoRoot, 'tools/console/dist/index.html')))
    throw new Error('the console is not built: run npm run generate');
  mkdirSync(screenshots, { recursive: true });
  writeFileSync(flagsFile, readFileSync(join(repoRoot, 'flags/flags.json')));
  const services: Record<string, Record<string, unknown>> = {};
  for (const name of serviceNames)
    services[name] = {
      port: await freePort(),
      operatorPort: await freePort(),
      ...(databases[name] ? { database: databases[name] } : {}),
    };
  const document = loadConfigDocument({
    argv: [],
    env: e2eSecurityEnv(),
    overrides: {
      logLevel: 'warn',
      dataDir,
      postgres: { url: postgresUrl, poolSize: 4 },
      bus: { kind: 'memory', retryBackoffMs: [20, 50], maxDeliver: 3 },
      flags: { file: flagsFile },
      configReload: { watch: false },
      services,
    },
  });
  const servicesOf = document.document.services as Record<string, { port: number }>;
  gatewayUrl = `http://127.0.0.1:${servicesOf.gateway!.port}`;
  const gatewaySection = servicesOf.gateway as Record<string, unknown>;
  gatewaySection.orderServiceUrl = `http://127.0.0.1:${servicesOf.order!.port}`;
  gatewaySection.inventoryServiceUrl = `http://127.0.0.1:${servicesOf.inventory!.port}`;
  gatewaySection.identityServiceUrl = `http://127.0.0.1:${servicesOf.identity!.port}`;
  runtimes = await buildAllServices(document, { bus });
  await startAll(runtimes);
  await bus.subscribe(
    {
      name: 'console-test.probe',
      subjects: [poisonedSubject],
      maxDeliver: 3,
      ackWaitMs: 30_000,
      retryBackoffMs: [20],
      concurrency: 1,
    },
    () =>
      consumerFixed
        ? Promise.resolve()
        : Promise.reject(new Error('probe consumer is failing on purpose (fixed later)')),
  );
  browser = await chromium.launch({
    executablePath: chromiumPath,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}, 120_000);

afterAll(async () => {
  await browser?.close();
  if (runtimes) await stopAll(runtimes);
  await bus.close();
  for (const database of Object.values(databases))
    await dropTestDatabase(postgresUrl, database).catch(() => undefined);
  rmSync(dataDir, { recursive: true, force: true });
});

async function openConsole(viewport = desktop): Promise<Page> {
  const context = await browser!.newContext({ viewport });
  const page = await context.newPage();
  await page.goto(`${gatewayUrl}/console/`);
  return page;
}

async function logIn(page: Page, email: string, password: string): Promise<void> {
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Log in' }).click();
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(screenshots, `${name}.png`) });
}

/** A customer of the test, with the typed client. */
async function customer() {
  const api = orderlyClient({ baseUrl: gatewayUrl });
  const email = `console-${randomUUID()}@example.com`;
  const password = 'correct horse battery staple';
  const registered = await api.POST('/v1/auth/register', { body: { email, password } });
  expect(registered.response.status).toBe(201);
  const { data } = await api.POST('/v1/auth/login', { body: { email, password } });
  if (!data) throw new Error('customer login failed');
  const token = data.accessToken;
  return {
    email,
    password,
    token,
    api: orderlyClient({ baseUrl: gatewayUrl, token: () => token }),
  };
}

describe('the operator console (Chromium)', () => {
  test('when a customer logs in, then the console stays on the login page and its API answers 403', async () => {
    const shopper = await customer();
    const page = await openConsole(phone);
    await shot(page, 'console-login');
    await logIn(page, shopper.email, shopper.password);
    await expect
      .poll(() => page.getByRole('alert').textContent())
      .toContain('AUTH_FORBIDDEN: this account is not an admin');
    expect(await page.getByRole('button', { name: 'Log in' }).isVisible()).toBe(true);
    await page.context().close();

    const asCustomer = await shopper.api.GET('/v1/admin/system');
    expect(asCustomer.response.status).toBe(403);
    expect(describeError(asCustomer.error).code).toBe('AUTH_FORBIDDEN');
    const anonymous = await orderlyClient({ baseUrl: gatewayUrl }).GET('/v1/admin/dead-letters');
    expect(anonymous.response.status).toBe(401);
    expect(describeError(anonymous.error).code).toBe('AUTH_TOKEN_MISSING');
  });

  test('when an admin opens an order, then its timeline across services shows it reach CONFIRMED', async () => {
    const shopper = await customer();
    const placed = await shopper.api.POST('/v1/orders', {
      params: { header: { 'Idempotency-Key': `console-${id}` } },
      body: { lines: [{ sku: 'SKU-COFFEE', quantity: 2 }], paymentMethod: 'pm_card_ok' },
    });
    const orderId = placed.data?.orderId;
    if (!orderId) throw new Error(`order not placed: ${JSON.stringify(placed.error)}`);

    const page = await openConsole();
    await logIn(page, e2eAdmin.email, e2eAdmin.password);
    await page.getByRole('link', { name: 'Orders' }).click();
    await page.getByLabel('Order id').fill(orderId);
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(() => page.getByTestId('order-status').textContent(), { timeout: 20_000 })
      .toBe('CONFIRMED');
    // Each service's part of the story is there: the reservation, the capture, the message.
    await expect
      .poll(() => page.locator('.timeline').textContent(), { timeout: 10_000 })
      .toContain('customer notified: ORDER_CONFIRMED');
    const timeline = (await page.locator('.timeline').textContent()) ?? '';
    for (const step of ['status CONFIRMED', 'reservation CONFIRMED', 'provider capture'])
      expect(timeline).toContain(step);
    await shot(page, 'console-order');

    await page.getByLabel('Order id').fill('');
    await page.getByLabel('Status').selectOption('CONFIRMED');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect
      .poll(() => page.getByRole('table', { name: 'Orders found' }).textContent())
      .toContain(orderId.slice(0, 8));

    await page.getByRole('link', { name: 'Overview' }).click();
    await expect
      .poll(() => page.locator('.legend').textContent(), { timeout: 10_000 })
      .toMatch(/CONFIRMED\s*[1-9]/);
    expect(await page.locator('tr[data-service="order"]').textContent()).toContain('ready');
    await shot(page, 'console-overview');
    await page.setViewportSize(phone);
    await shot(page, 'console-overview-phone');
    await page.context().close();
  });

  test('when a dead letter is redriven from the console, then it is delivered again and leaves the list', async () => {
    consumerFixed = false;
    const eventId = randomUUID();
    const published = bus.publish([
      {
        subject: poisonedSubject,
        id: eventId,
        data: new TextEncoder().encode(eventId),
        headers: { [busHeaders.eventType]: 'test.v1.ConsoleProbe' },
      },
    ]);
    await eventually(async () =>
      expect((await bus.listDeadLetters()).map((l) => l.eventId)).toContain(eventId),
    );
    await published.catch(() => undefined);

    const page = await openConsole();
    await logIn(page, e2eAdmin.email, e2eAdmin.password);
    await page.getByRole('link', { name: 'Dead letters' }).click();
    const letter = page.locator('[data-dead-letter]', { hasText: eventId });
    await expect.poll(() => letter.textContent()).toContain('failing on purpose');
    await shot(page, 'console-dead-letters');

    consumerFixed = true;
    await letter.getByRole('button', { name: 'Redrive' }).click();
    await expect.poll(() => page.getByRole('status').textContent()).toBe('Redriven: 1');
    await expect.poll(() => page.getByTestId('no-dead-letters').isVisible()).toBe(true);
    expect(await bus.listDeadLetters()).toEqual([]);
    await page.context().close();
  });

  test('when /docs is opened, then Swagger UI renders the OpenAPI document from the gateway', async () => {
    const page = await openConsole();
    const requests: string[] = [];
    page.on('request', (request) => requests.push(request.url()));
    await page.goto(`${gatewayUrl}/docs/`);
    await expect
      .poll(() => page.locator('.swagger-ui .info .title').textContent(), { timeout: 15_000 })
      .toContain('Orderly public API');
    expect(await page.locator('.opblock-summary-path').count()).toBeGreaterThan(10);
    // Everything came from the gateway: no CDN.
    expect(requests.filter((url) => !url.startsWith(gatewayUrl))).toEqual([]);
    await shot(page, 'api-docs');
    await page.context().close();
  });

  test('when the flags file changes, then the console shows the new value and the change', async () => {
    const page = await openConsole();
    await logIn(page, e2eAdmin.email, e2eAdmin.password);
    await page.getByRole('link', { name: 'Flags' }).click();
    const outage = page.getByTestId('flag-value-payment-provider-outage');
    await expect.poll(() => outage.textContent()).toBe('false');

    const flags = JSON.parse(readFileSync(flagsFile, 'utf8')) as {
      flags: Record<string, { defaultVariant: string }>;
    };
    flags.flags['payment-provider-outage']!.defaultVariant = 'on';
    writeFileSync(flagsFile, `${JSON.stringify(flags, null, 2)}\n`);

    // flagd's file source polls the file's stat about every 5 s.
    await expect.poll(() => outage.textContent(), { timeout: 20_000 }).toBe('true');
    await expect
      .poll(() => page.getByRole('list', { name: 'Flag changes' }).textContent())
      .toContain('payment-provider-outage');
    await shot(page, 'console-flags');
    await page.context().close();
  });
});
