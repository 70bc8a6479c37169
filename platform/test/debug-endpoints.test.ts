import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { SampleEndedSchema, SampleHappenedSchema } from './sample-event.js';
import { LiveConfig, MemoryBus, ServiceRuntime, loadConfigDocument } from '../src/index.js';
import { platformConfigSchema, parseConfigSection } from '../src/config/index.js';
import { newEvent } from '../src/events/index.js';
import { on } from '../src/inbox/index.js';
import {
  dropTestDatabase,
  eventually,
  testWorkloadIdentity,
  testWorkloadIdentityConfig,
  uniqueName,
} from '../src/testing/index.js';

/**
 * `/admin/debug/*` on the operator port (issue 19, item 1): what a running service reports about its
 * process and its own parts, to the operator only; a heap snapshot and a CPU profile as files that
 * Chrome DevTools opens. Driven over HTTP as `orderly doctor` and an operator's curl do.
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-debug-endpoints-'));
const migrations = join(dir, 'migrations');
mkdirSync(migrations);
writeFileSync(
  join(migrations, '0001_effects.sql'),
  'CREATE TABLE effects (event_id text PRIMARY KEY);',
);
const database = uniqueName('orderly_test_debug');
const env: Record<string, string> = {};
if (process.env.ORDERLY_TEST_POSTGRES_URL)
  env.ORDERLY_POSTGRES__URL = process.env.ORDERLY_TEST_POSTGRES_URL;
const platform = parseConfigSection(
  platformConfigSchema,
  loadConfigDocument({
    argv: [],
    env,
    overrides: {
      logLevel: 'silent',
      bus: { kind: 'memory', retryBackoffMs: [10], maxDeliver: 1 },
      debug: { cpuProfileDefaultSeconds: 1, cpuProfileMaxSeconds: 3 },
      ...testWorkloadIdentityConfig,
    },
  }).document,
);
const bus = new MemoryBus();
let runtime: ServiceRuntime;
let operatorUrl: string;
let rpcUrl: string;
let operator: Record<string, string>;

beforeAll(async () => {
  runtime = await ServiceRuntime.create({
    name: 'probe',
    platform,
    http: { host: '127.0.0.1', port: 0, operatorPort: 0 },
    database: { name: database, migrationsPath: migrations },
    bus,
    config: LiveConfig.fixed({ platform, service: {} }, 'probe'),
  });
  runtime.consume('probe.effects', [
    on(SampleHappenedSchema, async (tx, _event, context) => {
      await tx.query('INSERT INTO effects (event_id) VALUES ($1)', [context.eventId]);
    }),
    // Every SampleEnded fails for good: it goes to the dead letters.
    on(SampleEndedSchema, () =>
      Promise.reject(Object.assign(new Error('cannot apply'), { permanent: true })),
    ),
  ]);
  ({ url: rpcUrl } = await runtime.start());
  operatorUrl = runtime.operatorUrl ?? '';
  operator = {
    authorization: await (await testWorkloadIdentity('operator')).authorization('probe'),
  };
});

afterAll(async () => {
  await runtime?.stop();
  await bus.close();
  await dropTestDatabase(platform.postgres.url, database);
  rmSync(dir, { recursive: true, force: true });
});

interface Resources {
  service: string;
  process: { pid: number; hostname: string; startedAt: string };
  resources: { total: number; byType: Record<string, number> };
  listeners: { total: number; byEvent: Record<string, number> };
  eventLoop: { utilization: number; delay: { p99Ms: number; samples: number } | null };
  heap: { usedBytes: number; limitBytes: number; afterFullGc: boolean; spaces: unknown[] };
  database: { open: number; idle: number; waiting: number; max: number };
  outbox: { unpublished: number; oldestAgeSeconds: number | null };
  bus: {
    kind: string;
    connection: string;
    consumers: { subscription: string; pending: number; inFlight: number }[];
    deadLetters: number;
  };
}

async function resources(query = ''): Promise<Resources> {
  const response = await fetch(`${operatorUrl}/admin/debug/resources${query}`, {
    headers: operator,
  });
  expect(response.status).toBe(200);
  return (await response.json()) as Resources;
}

describe('who reaches the debug endpoints', () => {
  test('when they are asked for on the RPC port, then it is 404; on the operator port, 401 without a token and 403 for a workload on neither list', async () => {
    const payment = await testWorkloadIdentity('payment');
    for (const [method, path] of [
      ['GET', '/admin/debug/resources'],
      ['POST', '/admin/debug/heap-snapshot'],
      ['POST', '/admin/debug/cpu-profile'],
    ] as const) {
      expect((await fetch(`${rpcUrl}${path}`, { method })).status, path).toBe(404);
      const anonymous = await fetch(`${operatorUrl}${path}`, { method });
      expect(anonymous.status, path).toBe(401);
      expect(await anonymous.json()).toMatchObject({ error: { code: 'CALLER_UNAUTHENTICATED' } });
      const notOperator = await fetch(`${operatorUrl}${path}`, {
        method,
        headers: { authorization: await payment.authorization('probe') },
      });
      expect(notOperator.status, path).toBe(403);
      expect(await notOperator.json()).toMatchObject({ error: { code: 'CALLER_NOT_ALLOWED' } });
    }
  });

  test("when the console's workload (the gateway) asks, then it reads the resources but may not force a GC, take a heap snapshot or a profile", async () => {
    const gateway = {
      authorization: await (await testWorkloadIdentity('gateway')).authorization('probe'),
    };
    expect((await fetch(`${operatorUrl}/admin/debug/resources`, { headers: gateway })).status).toBe(
      200,
    );
    for (const [method, path] of [
      ['GET', '/admin/debug/resources?gc=1'],
      ['POST', '/admin/debug/heap-snapshot'],
      ['POST', '/admin/debug/cpu-profile?seconds=1'],
    ] as const) {
      const refused = await fetch(`${operatorUrl}${path}`, { method, headers: gateway });
      expect(refused.status, path).toBe(403);
      expect(await refused.json()).toMatchObject({ error: { code: 'CALLER_NOT_ALLOWED' } });
    }
  });

  test('when an unknown debug route or a bad parameter is asked for, then it is 404 ROUTE_NOT_FOUND or 400 DEBUG_PARAMETER_INVALID', async () => {
    const unknown = await fetch(`${operatorUrl}/admin/debug/nothing`, { headers: operator });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: { code: 'ROUTE_NOT_FOUND' } });
    const badGc = await fetch(`${operatorUrl}/admin/debug/resources?gc=yes`, { headers: operator });
    expect(badGc.status).toBe(400);
    expect(await badGc.json()).toMatchObject({
      error: { code: 'DEBUG_PARAMETER_INVALID', message: 'gc must be 0, 1, true or false' },
    });
  });
});

describe('GET /admin/debug/resources', () => {
  test('when asked, then it names the process and counts its handles by type, its listeners, its heap and its event loop', async () => {
    await resources(); // the event-loop monitor starts at the first request
    await eventually(async () => expect((await resources()).eventLoop.delay).not.toBeNull());
    const body = await resources();
    expect(body.service).toBe('probe');
    expect(body.process.pid).toBe(process.pid);
    // Two listening servers (RPC and operator port) and the connection of this very request.
    expect(body.resources.byType.TCPServerWrap).toBeGreaterThanOrEqual(2);
    expect(body.resources.byType.TCPSocketWrap).toBeGreaterThanOrEqual(1);
    expect(body.resources.total).toBe(
      Object.values(body.resources.byType).reduce((sum, n) => sum + n, 0),
    );
    expect(body.listeners.total).toBe(
      Object.values(body.listeners.byEvent).reduce((sum, n) => sum + n, 0),
    );
    expect(body.heap.usedBytes).toBeGreaterThan(0);
    expect(body.heap.usedBytes).toBeLessThan(body.heap.limitBytes);
    expect(body.heap.spaces.length).toBeGreaterThan(0);
    expect(body.heap.afterFullGc).toBe(false);
    expect(body.eventLoop.utilization).toBeGreaterThanOrEqual(0);
    expect(body.eventLoop.utilization).toBeLessThanOrEqual(1);
    expect(body.eventLoop.delay?.samples).toBeGreaterThan(0);
  });

  test('when ?gc=1 is given, then the heap is read after a full garbage collection', async () => {
    // Garbage that only a collection removes: the figure after it is below the one before.
    let garbage: unknown[] | undefined = Array.from({ length: 200_000 }, (_, i) => ({ i }));
    const before = (await resources()).heap.usedBytes;
    garbage = undefined;
    const after = await resources('?gc=1');
    expect(garbage).toBeUndefined();
    expect(after.heap.afterFullGc).toBe(true);
    expect(after.heap.usedBytes).toBeLessThan(before);
  });

  test('when events wait, fail for good or are applied, then the outbox backlog, the dead letters and the database pool say so', async () => {
    const idle = await resources();
    expect(idle.bus).toMatchObject({
      kind: 'memory',
      connection: 'in-process',
      consumers: [{ subscription: 'probe.effects', pending: 0, inFlight: 0 }],
      deadLetters: 0,
    });
    expect(idle.database.max).toBe(platform.postgres.poolSize);
    expect(idle.database.open).toBeGreaterThanOrEqual(1);

    // Rows committed without the relay hearing of them wait in the table for its safety pass.
    await runtime.db.query(
      `INSERT INTO outbox (event_id, subject, event_type, payload, next_attempt_at)
       VALUES (gen_random_uuid(), 'events.none', 'none', '\\x00', now() + interval '1 hour')`,
    );
    const waiting = await resources();
    expect(waiting.outbox.unpublished).toBe(1);
    expect(waiting.outbox.oldestAgeSeconds).toBeGreaterThanOrEqual(0);

    await bus.publish([newEvent(SampleEndedSchema, { subjectId: 'poison' }, new Date()).bus]);
    await bus.publish([newEvent(SampleHappenedSchema, { subjectId: 'fine' }, new Date()).bus]);
    const after = await resources();
    expect(after.bus.deadLetters).toBe(1);
    expect(after.bus.consumers).toEqual([
      { subscription: 'probe.effects', pending: 0, inFlight: 0 },
    ]);
  });
});

describe('POST /admin/debug/heap-snapshot', () => {
  test('when asked, then it answers a .heapsnapshot download in the format Chrome DevTools loads', async () => {
    const response = await fetch(`${operatorUrl}/admin/debug/heap-snapshot`, {
      method: 'POST',
      headers: operator,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(
      /^attachment; filename="probe-\d+-[\dT-]+Z\.heapsnapshot"$/,
    );
    const snapshot = (await response.json()) as {
      snapshot: { meta: { node_fields: string[] }; node_count: number };
      nodes: number[];
      strings: string[];
    };
    expect(snapshot.snapshot.meta.node_fields).toContain('self_size');
    expect(snapshot.snapshot.node_count).toBeGreaterThan(0);
    expect(snapshot.nodes.length).toBe(
      snapshot.snapshot.node_count * snapshot.snapshot.meta.node_fields.length,
    );
  });
});

describe('POST /admin/debug/cpu-profile', () => {
  test('when asked for one second, then it answers a .cpuprofile download (nodes, samples, start and end)', async () => {
    const response = await fetch(`${operatorUrl}/admin/debug/cpu-profile?seconds=1`, {
      method: 'POST',
      headers: operator,
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toMatch(/\.cpuprofile"$/);
    const profile = (await response.json()) as {
      nodes: { callFrame: { functionName: string } }[];
      startTime: number;
      endTime: number;
      samples: number[];
    };
    expect(profile.nodes.map((n) => n.callFrame.functionName)).toContain('(root)');
    expect(profile.endTime).toBeGreaterThan(profile.startTime);
    expect(Array.isArray(profile.samples)).toBe(true);
  });

  test('when the seconds are not a whole number from 1 to debug.cpuProfileMaxSeconds, then it is 400 DEBUG_PROFILE_SECONDS_INVALID and nothing is profiled', async () => {
    for (const seconds of ['0', '4', 'abc', '1.5', '-1', '']) {
      const response = await fetch(`${operatorUrl}/admin/debug/cpu-profile?seconds=${seconds}`, {
        method: 'POST',
        headers: operator,
      });
      expect(response.status, seconds).toBe(400);
      expect(await response.json()).toMatchObject({
        error: {
          code: 'DEBUG_PROFILE_SECONDS_INVALID',
          message: expect.stringContaining('from 1 to 3 (debug.cpuProfileMaxSeconds)') as string,
        },
      });
    }
  });

  test('when a profile is already being taken, then a second one is 409 DEBUG_PROFILE_IN_PROGRESS', async () => {
    const first = fetch(`${operatorUrl}/admin/debug/cpu-profile?seconds=2`, {
      method: 'POST',
      headers: operator,
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    const second = await fetch(`${operatorUrl}/admin/debug/cpu-profile`, {
      method: 'POST',
      headers: operator,
    });
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ error: { code: 'DEBUG_PROFILE_IN_PROGRESS' } });
    expect((await first).status).toBe(200);
  });
});
