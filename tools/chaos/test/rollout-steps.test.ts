import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { parse } from 'yaml';
import { clientView } from '../src/client-view.js';
import { drillFile, loadDrill, type FaultStep } from '../src/drill-file.js';
import { DrillEnvironment } from '../src/environment.js';
import { expectationMisses, type FaultRecord } from '../src/faults.js';
import { pickVersion, versionedBody, type LoadGenerator, type RequestRecord } from '../src/load.js';
import { headline, renderMarkdown } from '../src/report.js';
import type { DrillReport } from '../src/run-drill.js';
import { repoRoot } from '../src/service-processes.js';

/**
 * The rollout steps of a drill (chaos/drills/contract-rollout.yaml) without running one: the client
 * version mix, what an expectation checks, the report's phases, and the files the steps write.
 */
describe('client versions', () => {
  test('when the weights are half and half, then about half the requests of each version go out, the same ones every run', () => {
    const picked = Array.from({ length: 1000 }, (_, i) => pickVersion({ '1': 50, '2': 50 }, i));

    const v2 = picked.filter((v) => v === '2').length;
    expect(v2).toBeGreaterThan(450);
    expect(v2).toBeLessThan(550);
    expect(Array.from({ length: 1000 }, (_, i) => pickVersion({ '1': 50, '2': 50 }, i))).toEqual(
      picked,
    );
    expect(new Set(Array.from({ length: 50 }, (_, i) => pickVersion({ '2': 100 }, i)))).toEqual(
      new Set(['2']),
    );
  });

  test('when a client is of version 2, then its order names the currency; a version 1 order does not', () => {
    const body = { lines: [{ sku: 'A', quantity: 1 }], paymentMethod: 'pm_card_ok' };

    expect(versionedBody(body, '2')).toEqual({ ...body, currency: 'EUR' });
    expect(versionedBody(body, '1')).toEqual(body);
  });
});

describe('expect-clients', () => {
  const step = drillFile.parse({
    name: 'x',
    load: { ratePerSecond: 1, durationSeconds: 1 },
    steps: [
      {
        at: 1,
        fault: 'expect-clients',
        version: '1',
        status: 410,
        code: 'CONTRACT_VERSION_RETIRED',
        servedVersion: '1',
        headers: ['Sunset'],
      },
    ],
  }).steps[0] as Extract<FaultStep, { fault: 'expect-clients' }>;

  test('when the answer has the status, code, version and headers asked for, then nothing is missed', () => {
    expect(
      expectationMisses(step, {
        status: 410,
        code: 'CONTRACT_VERSION_RETIRED',
        message: 'retired',
        servedVersion: '1',
        headers: ['content-type', 'sunset', 'x-contract-version'],
        headerValues: {},
      }),
    ).toEqual([]);
  });

  test('when the answer differs, then each difference is named', () => {
    expect(
      expectationMisses(step, {
        status: 202,
        code: undefined,
        message: undefined,
        servedVersion: '2',
        headers: [],
        headerValues: {},
      }),
    ).toEqual([
      'status 202, not 410',
      'code none, not CONTRACT_VERSION_RETIRED',
      'served as version 2, not 1',
      'no Sunset header',
    ]);
  });
});

describe('the rollout in the report', () => {
  const t0 = 1_000_000;
  const request = (
    atSeconds: number,
    version: RequestRecord['version'],
    status: number,
    code?: string,
  ): RequestRecord => ({
    startedAt: t0 + atSeconds * 1000,
    endedAt: t0 + atSeconds * 1000 + 10,
    attempts: 1,
    outcome: status === 202 ? 'accepted' : 'refused',
    ...(version ? { version } : {}),
    status,
    ...(code ? { code } : {}),
    ...(status === 202 ? { servedVersion: version === '2' ? '2' : '1' } : {}),
  });
  const faults: FaultRecord[] = [
    { index: 0, fault: 'clients', target: 'clients', atSeconds: 10, durationMs: 1 },
    {
      index: 1,
      fault: 'expect-clients',
      target: 'v1 clients',
      atSeconds: 15,
      durationMs: 50,
      expectation: {
        met: false,
        expected: '410, CONTRACT_VERSION_RETIRED',
        afterMs: 20_000,
        tries: 12,
        answers: ['202 (v1)'],
        misses: ['status 202, not 410'],
        headers: { 'x-contract-version': '1' },
      },
    },
    { index: 2, fault: 'set-config', target: 'config', atSeconds: 20, durationMs: 1 },
  ];
  const load = {
    requests: [
      request(1, '1', 202),
      request(11, '1', 202),
      request(12, '2', 202),
      request(21, '1', 410, 'CONTRACT_VERSION_RETIRED'),
      request(22, '2', 202),
    ],
    failedAttempts: [],
  } as unknown as LoadGenerator;
  const noOrders = (() => Promise.resolve([])) as never;

  test('when changes happened, then the clients are shown per phase and version with their final answers', async () => {
    const view = await clientView(load, faults, t0, noOrders);

    expect(view.byPhase?.map((p) => [p.index, p.fromSeconds, Object.keys(p.byVersion)])).toEqual([
      [undefined, 0, ['1']],
      [0, 10, ['1', '2']],
      [2, 20, ['1', '2']],
    ]);
    expect(view.byPhase?.[2]?.byVersion['1']).toMatchObject({
      requests: 1,
      accepted: 0,
      answers: { '410 CONTRACT_VERSION_RETIRED': 1 },
    });
  });

  test('when an expectation was not met, then the drill failed and the report says which', async () => {
    const report: DrillReport = {
      drill: 'x',
      description: '',
      startedAt: '',
      finishedAt: '',
      machine: { cpus: 2, memoryGiB: 4, node: 'v26' },
      commit: { sha: 'abc', dirty: false },
      load: {
        offered: 5,
        accepted: 4,
        attempts: 5,
        retries: 0,
        refused: 1,
        inDoubt: 0,
        shed: 0,
        byStatus: {},
        ratePerSecond: 1,
        durationSeconds: 1,
      },
      faults,
      faultCounts: {},
      unexpectedExits: [],
      heal: {
        boundSeconds: 1,
        healedAfterMs: 1,
        lastFaultHealedAtSeconds: 0,
        loadEndedAtSeconds: 0,
      },
      outcome: { orders: 4, confirmed: 4, cancelled: {}, open: 0 },
      deadLetters: { total: 0, injectedPoison: 0 },
      invariants: [],
      violations: 0,
      clients: await clientView(load, faults, t0, noOrders),
      finalExitCodes: {},
      ok: false,
      warnings: [],
      verdict: 'FAILED',
      refusals: [],
    };

    expect(headline(report)).toBe('FAILED: 1 client expectation(s) not met');
    const markdown = renderMarkdown(report);
    expect(markdown).toContain('## The rollout, step by step');
    expect(markdown).toContain(
      '| 1 | 15 | v1 clients | 410, CONTRACT_VERSION_RETIRED | **no**: status 202, not 410 |',
    );
  });
});

describe('rollout steps on the drill environment', () => {
  let env: DrillEnvironment;
  beforeAll(async () => {
    env = await DrillEnvironment.create(loadDrill(join(repoRoot, 'chaos/drills/short.yaml')));
  });
  afterAll(async () => {
    await env.close();
  });

  test('when set-config steps set keys, then the configuration file every service follows holds all of them', () => {
    env.setConfig({ 'services.gateway.auth.acceptedAlgorithms': ['ES256', 'EdDSA'] });
    env.setConfig({
      'services.gateway.contract.versions.1': { lifecycle: 'retired', successor: '2' },
    });

    expect(parse(readFileSync(join(env.workDir, 'orderly.yaml'), 'utf8'))).toEqual({
      services: {
        gateway: {
          auth: { acceptedAlgorithms: ['ES256', 'EdDSA'] },
          contract: { versions: { '1': { lifecycle: 'retired', successor: '2' } } },
        },
      },
    });
  });

  test('when a set-flag step names a shipped flag and variant, then everyone gets that variant; an unknown flag or variant is refused', () => {
    env.setFlag('payment-provider-outage', 'on');

    const flags = JSON.parse(readFileSync(join(env.workDir, 'flags.json'), 'utf8')) as {
      flags: Record<string, { defaultVariant: string; targeting?: unknown }>;
    };
    expect(flags.flags['payment-provider-outage']?.defaultVariant).toBe('on');
    expect(flags.flags['payment-provider-outage']?.targeting).toBeUndefined();
    expect(() => env.setFlag('no-such-flag', 'on')).toThrow(/not in flags\/flags.json/);
    expect(() => env.setFlag('payment-provider-outage', 'sideways')).toThrow(/no variant/);
  });
});

describe('chaos/drills/contract-rollout.yaml', () => {
  test('it is a valid drill whose last expectation is that v1 clients get 410 CONTRACT_VERSION_RETIRED', () => {
    const drill = loadDrill(join(repoRoot, 'chaos/drills/contract-rollout.yaml'));

    const retired = drill.steps.find(
      (s) => s.fault === 'expect-clients' && s.version === '1' && s.status === 410,
    );
    expect(retired).toMatchObject({ code: 'CONTRACT_VERSION_RETIRED' });
  });
});
