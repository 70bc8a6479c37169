import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { SampleHappenedSchema } from './sample-event.js';
import { TestProxy } from './tcp-proxy.js';
import { ServiceRuntime } from '../src/index.js';
import { on } from '../src/inbox/index.js';
import { dropTestDatabase, eventually, freePort, testServiceConfig } from '../src/testing/index.js';

/**
 * Issue 13 §5: a service starts whatever the order its dependencies come up in (it waits for an
 * unreachable PostgreSQL or NATS with backoff, answering /healthz 200 and /readyz 503 meanwhile),
 * and /readyz answers within its own budget even when a dependency's link is black-holed.
 */
const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.ORDERLY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const repoRoot = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'orderly-runtime-dependencies-'));
const migrations = join(dir, 'migrations');
mkdirSync(migrations);
writeFileSync(
  join(migrations, '0001_effects.sql'),
  'CREATE TABLE effects (event_id text PRIMARY KEY, subject_id text NOT NULL);',
);
// Not strict: the test config helper adds the keys every service section has (operatorPort, ...).
const schema = z.object({ port: z.coerce.number(), database: z.string() });
const cleanups: (() => Promise<unknown> | void)[] = [];
const proxies: TestProxy[] = [];

afterAll(async () => {
  // Healed first: a runtime cannot stop over a black-holed link.
  for (const proxy of proxies) proxy.setMode('pass');
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

/** `url` pointing at the proxy instead of its own host and port. */
function through(proxy: TestProxy, url: string): string {
  return url.replace(
    /^(\w+:\/\/(?:[^@/]*@)?)[^/]+/,
    (_match, head: string) => `${head}127.0.0.1:${proxy.port}`,
  );
}

async function get(
  url: string,
): Promise<{ status: number; body: { status?: string; checks?: Record<string, string> } }> {
  const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return {
    status: response.status,
    body: (await response.json()) as { status?: string; checks?: Record<string, string> },
  };
}

async function withProxies(pgMode: 'pass' | 'refuse', natsMode: 'pass' | 'refuse') {
  const pgProxy = await TestProxy.forUrl(serverUrl, pgMode).start();
  const natsProxy = await TestProxy.forUrl(natsUrl, natsMode).start();
  proxies.push(pgProxy, natsProxy);
  cleanups.push(
    () => pgProxy.close(),
    () => natsProxy.close(),
  );
  const id = randomBytes(4).toString('hex');
  const streams = { stream: `TEST_${id}`, deadLetterStream: `TEST_${id}_DEAD` };
  cleanups.push(async () => {
    const nc = await connect({ servers: natsUrl });
    const jsm = await jetstreamManager(nc);
    for (const stream of Object.values(streams))
      await jsm.streams.delete(stream).catch(() => false);
    await nc.close();
  });
  const port = await freePort();
  const config = testServiceConfig('probe', schema, {
    platform: {
      postgres: { url: through(pgProxy, serverUrl), connectTimeoutMs: 1000 },
      bus: {
        kind: 'nats',
        natsServers: through(natsProxy, natsUrl),
        ...streams,
        subjectPrefix: `t${id}`,
        deadLetterSubjectPrefix: `t${id}dead`,
        connectTimeoutMs: 1000,
        ackWaitMs: 5000,
      },
      startup: { dependencyRetry: { baseDelayMs: 50, maxDelayMs: 300 } },
    },
    service: { port },
  });
  const database = config.service.database;
  cleanups.push(() => dropTestDatabase(serverUrl, database));
  const create = () =>
    ServiceRuntime.create({
      name: 'probe',
      platform: config.platform,
      http: { host: '127.0.0.1', port },
      database: { name: database, migrationsPath: migrations },
      usesBus: true,
    });
  return { pgProxy, natsProxy, config, create, url: `http://127.0.0.1:${port}` };
}

describe('starting in any order', () => {
  test('when PostgreSQL and NATS are unreachable at start, then the service waits (/healthz 200, /readyz 503) and becomes ready and applies events once they are back', async () => {
    // Arrange: both links refuse connections.
    const { pgProxy, natsProxy, create, url } = await withProxies('refuse', 'refuse');

    // Act
    let failure: unknown;
    const creating = create();
    creating.catch((error: unknown) => (failure = error));

    // Assert: it waits, alive but not ready.
    await eventually(async () => expect((await get(`${url}/readyz`)).status).toBe(503), {
      timeoutMs: 5000,
    });
    expect((await get(`${url}/healthz`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1000));
    expect(failure).toBeUndefined();
    expect((await get(`${url}/readyz`)).body.checks?.postgres).toMatch(/waiting/);

    // PostgreSQL comes back first; NATS is still down, so still not ready.
    pgProxy.setMode('pass');
    await eventually(
      async () => expect((await get(`${url}/readyz`)).body.checks?.nats).toMatch(/waiting/),
      { timeoutMs: 5000 },
    );
    expect((await get(`${url}/readyz`)).status).toBe(503);
    expect(failure).toBeUndefined();

    natsProxy.setMode('pass');
    const runtime = await creating;
    cleanups.push(() => runtime.stop());
    runtime.consume('probe.effects', [
      on(SampleHappenedSchema, async (tx, event, context) => {
        await tx.query('INSERT INTO effects (event_id, subject_id) VALUES ($1, $2)', [
          context.eventId,
          event.subjectId,
        ]);
      }),
    ]);
    expect((await runtime.start()).url).toBe(url);
    await eventually(async () => expect((await get(`${url}/readyz`)).status).toBe(200), {
      timeoutMs: 5000,
    });

    // ...and processes work: an event written through the outbox is relayed, consumed and applied.
    await runtime.db.transaction((tx) =>
      runtime.outbox.add(tx, SampleHappenedSchema, { subjectId: 'after-the-wait' }),
    );
    await eventually(
      async () =>
        expect((await runtime.db.query('SELECT subject_id FROM effects')).rows).toEqual([
          { subject_id: 'after-the-wait' },
        ]),
      { timeoutMs: 10_000 },
    );
  }, 30_000);

  test('when PostgreSQL refuses the role (a configuration error), then the start fails at once instead of waiting', async () => {
    const config = testServiceConfig('probe', schema, {
      platform: {
        postgres: { url: serverUrl.replace(/^(\w+:\/\/)(?:[^@/]*@)?/, '$1orderly_no_such_role@') },
      },
    });
    const started = Date.now();
    const failing = ServiceRuntime.create({
      name: 'probe',
      platform: config.platform,
      http: { host: '127.0.0.1', port: 0 },
      database: { name: config.service.database, migrationsPath: migrations },
    });
    await expect(failing).rejects.toThrow(/orderly_no_such_role|PostgreSQL/);
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe('a service process started before its dependencies', () => {
  test('when PostgreSQL and NATS are unreachable, then the process keeps running (/healthz 200, /readyz 503), logs its waits, and a SIGTERM meanwhile stops it with exit 0', async () => {
    // Arrange: both dependencies at addresses nobody listens on.
    const [port, operatorPort, closedPostgres, closedNats] = [
      await freePort(),
      await freePort(),
      await freePort(),
      await freePort(),
    ];
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'services/notification/src/main.ts'],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          ORDERLY_LOG_LEVEL: 'warn',
          ORDERLY_DATA_DIR: join(dir, 'process-data'),
          ORDERLY_POSTGRES__URL: `postgres://postgres@127.0.0.1:${closedPostgres}/postgres`,
          ORDERLY_BUS__NATS_SERVERS: `nats://127.0.0.1:${closedNats}`,
          ORDERLY_SERVICES__NOTIFICATION__PORT: String(port),
          ORDERLY_SERVICES__NOTIFICATION__OPERATOR_PORT: String(operatorPort),
          ORDERLY_STARTUP__DEPENDENCY_RETRY__MAX_DELAY_MS: '500',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) =>
      child.on('exit', (code) => resolve(code)),
    );
    cleanups.push(() => void child.kill('SIGKILL'));
    const url = `http://127.0.0.1:${port}`;

    // Assert: alive and waiting, not ready.
    await eventually(async () => expect((await get(`${url}/readyz`)).status).toBe(503), {
      timeoutMs: 30_000,
      intervalMs: 200,
    });
    expect((await get(`${url}/healthz`)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(child.exitCode, output).toBeNull();
    expect((await get(`${url}/readyz`)).body.checks?.postgres).toMatch(/waiting for postgres/);
    expect(output).toMatch(/postgres unavailable at start, next try in \d+ ms/);

    // A stop asked for while it waits ends it at once, cleanly.
    child.kill('SIGTERM');
    const started = Date.now();
    expect(await exited, output).toBe(0);
    expect(Date.now() - started).toBeLessThan(5000);
  }, 60_000);
});

describe('/readyz budget', () => {
  test('when the database link is black-holed, then /readyz answers 503 within its budget instead of waiting out the ping deadline', async () => {
    // Arrange: a running service, then its PostgreSQL link stops moving bytes.
    const { pgProxy, create, url, config } = await withProxies('pass', 'pass');
    const runtime = await create();
    cleanups.push(() => runtime.stop());
    await runtime.start();
    expect((await get(`${url}/readyz`)).status).toBe(200);
    pgProxy.setMode('blackhole');

    // Act
    const started = Date.now();
    const answer = await get(`${url}/readyz`);
    const elapsedMs = Date.now() - started;

    // Assert: not ready, and answered well before the old deadline (rpc.defaultTimeoutMs).
    expect(answer.status).toBe(503);
    expect(answer.body.checks?.database).not.toBe('ok');
    expect(elapsedMs).toBeLessThan(config.platform.rpc.defaultTimeoutMs / 2);
    // A second probe while the first ping still hangs answers as fast (no pile-up of pings).
    const again = Date.now();
    expect((await get(`${url}/readyz`)).status).toBe(503);
    expect(Date.now() - again).toBeLessThan(config.platform.rpc.defaultTimeoutMs / 2);

    // Healed: ready again.
    pgProxy.setMode('pass');
    await eventually(async () => expect((await get(`${url}/readyz`)).status).toBe(200), {
      timeoutMs: 15_000,
    });
    await runtime.stop();
  }, 40_000);
});
