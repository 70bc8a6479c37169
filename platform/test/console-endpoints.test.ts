import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LiveConfig, MemoryBus, ServiceRuntime, loadConfigDocument } from '../src/index.js';
import { platformConfigSchema, parseConfigSection } from '../src/config/index.js';
import { testWorkloadIdentity, testWorkloadIdentityConfig } from '../src/testing/index.js';

/**
 * The console's part of the operator port: a service's timeline and summary sources, served to the
 * workloads of `workloadIdentity.consoleCallers` (the gateway) and `adminCallers` (the operator);
 * the console's callers reach nothing else there (no profiles, no snapshots, no forced GC).
 */
const platform = parseConfigSection(
  platformConfigSchema,
  loadConfigDocument({
    argv: [],
    env: {},
    overrides: {
      logLevel: 'silent',
      bus: { kind: 'memory' },
      ...testWorkloadIdentityConfig,
      workloadIdentity: {
        ...testWorkloadIdentityConfig.workloadIdentity,
        adminCallers: ['operator'],
        consoleCallers: ['gateway'],
      },
    },
  }).document,
);
const bus = new MemoryBus();
let runtime: ServiceRuntime;
let operatorUrl: string;

async function as(caller: string): Promise<Record<string, string>> {
  return { authorization: await (await testWorkloadIdentity(caller)).authorization('probe') };
}

beforeAll(async () => {
  runtime = await ServiceRuntime.create({
    name: 'probe',
    platform,
    http: { host: '127.0.0.1', port: 0, operatorPort: 0 },
    bus,
    config: LiveConfig.fixed({ platform, service: {} }, 'probe'),
  });
  // Two sources, answering out of order: the port merges them oldest first.
  runtime.timeline((id) =>
    Promise.resolve([{ at: '2026-01-01T00:00:02.000Z', what: `shipped ${id}` }]),
  );
  runtime.timeline((id) =>
    Promise.resolve(id === 'known' ? [{ at: '2026-01-01T00:00:01.000Z', what: 'placed' }] : []),
  );
  runtime.summary(() => Promise.resolve({ open: 3, byState: { DONE: 7 } }));
  await runtime.start();
  operatorUrl = runtime.operatorUrl ?? '';
});

afterAll(async () => {
  await runtime?.stop();
  await bus.close();
});

describe('timelines and summaries on the operator port', () => {
  test('when the console asks for an id, then every source’s entries come back oldest first', async () => {
    const response = await fetch(`${operatorUrl}/admin/timeline/known`, {
      headers: await as('gateway'),
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      entries: [
        { at: '2026-01-01T00:00:01.000Z', what: 'placed' },
        { at: '2026-01-01T00:00:02.000Z', what: 'shipped known' },
      ],
    });
  });

  test('when the console asks for the summary, then the figures of every source are merged', async () => {
    const response = await fetch(`${operatorUrl}/admin/summary`, { headers: await as('gateway') });
    expect(await response.json()).toEqual({ summary: { open: 3, byState: { DONE: 7 } } });
  });

  test('when the id is not a plain id, then it is 400 TIMELINE_ID_INVALID', async () => {
    const response = await fetch(`${operatorUrl}/admin/timeline/a%20b%3Bc`, {
      headers: await as('operator'),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: { code: 'TIMELINE_ID_INVALID' } });
  });
});

describe('who reaches them', () => {
  test('when a console caller reads dead letters and timelines, then it may; the operator may too', async () => {
    for (const caller of ['gateway', 'operator']) {
      const headers = await as(caller);
      expect((await fetch(`${operatorUrl}/admin/dead-letters`, { headers })).status).toBe(200);
      expect((await fetch(`${operatorUrl}/admin/timeline/known`, { headers })).status).toBe(200);
    }
  });

  test.each([
    ['POST', '/admin/debug/heap-snapshot'],
    ['POST', '/admin/debug/cpu-profile?seconds=1'],
    ['GET', '/admin/debug/resources?gc=1'],
    ['DELETE', '/admin/dead-letters'],
  ])('when a console caller tries %s %s, then it is 403 and nothing runs', async (method, path) => {
    const response = await fetch(`${operatorUrl}${path}`, {
      method,
      headers: await as('gateway'),
    });
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: { code: 'CALLER_NOT_ALLOWED' } });
  });

  test('when a workload in neither list asks, then it is 403; without a token, 401', async () => {
    const other = await fetch(`${operatorUrl}/admin/summary`, { headers: await as('order') });
    expect(other.status).toBe(403);
    expect((await fetch(`${operatorUrl}/admin/summary`)).status).toBe(401);
  });
});
