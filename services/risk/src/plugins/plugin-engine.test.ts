import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, test, vi } from 'vitest';
import { sha256 } from './plugin-loader.js';
import {
  PluginFolder,
  capturedLog,
  shippedPluginsDir,
  shippedRuleSet,
  someFeatures,
  triggerAmount,
} from './test/plugin-test-kit.js';
import {
  createRiskEngine,
  type PluginOutcome,
  type RiskEngine,
  type RiskEngineOptions,
  type Rollout,
} from './risk-engine.js';

const open: RiskEngine[] = [];
const folders: PluginFolder[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((engine) => engine.close()));
  for (const folder of folders.splice(0)) folder.cleanUp();
});

function folder(): PluginFolder {
  const made = new PluginFolder();
  folders.push(made);
  return made;
}

async function engineFor(
  dir: string,
  overrides: Partial<RiskEngineOptions> = {},
): Promise<RiskEngine & { logLines: () => Record<string, unknown>[] }> {
  const { log, lines } = capturedLog();
  const engine = await createRiskEngine({
    pluginsDir: dir,
    settings: { denyList: ['customer-denied'], thresholds: {} },
    rollout: () => ({ candidatePercent: 0, mode: 'shadow' }),
    limits: { callTimeoutMs: 1_000 },
    pollIntervalMs: 0,
    log,
    ...overrides,
  });
  open.push(engine);
  return Object.assign(engine, { logLines: lines });
}

function kinds(outcomes: readonly PluginOutcome[]): string[] {
  return outcomes.map((o) => (o.kind === 'scored' ? 'scored' : o.failure));
}

describe('the shipped rule set', () => {
  test('when the shipped folder loads, then basic-rules 1.0.0 passes its golden cases and serves with its hash', async () => {
    const engine = await engineFor(shippedPluginsDir);

    const status = engine.status();

    expect(status.active).toEqual({
      name: 'basic-rules',
      version: '1.0.0',
      sha256: sha256(readFileSync(join(shippedRuleSet, 'plugin.wasm'))),
    });
    expect(status.versions.filter((v) => v.state === 'refused')).toEqual([]);
  });

  test('when orders are assessed, then each rule gives its reason code and the configured deny list applies', async () => {
    const engine = await engineFor(shippedPluginsDir);

    const [small, denied, large, fast, odd] = await engine.assess([
      someFeatures(),
      someFeatures({ customerId: 'customer-denied' }),
      someFeatures({ amountMinor: 1_200_000n }),
      someFeatures({ customerOrderCount: 9 }),
      someFeatures({ lines: [{ sku: 'SKU-1', quantity: 500, unitPriceMinor: 5n }] }),
    ]);

    expect(small?.enforced).toMatchObject({ kind: 'scored', score: 0, reasons: [] });
    expect(denied?.enforced).toMatchObject({ score: 1000, reasons: ['CUSTOMER_DENIED'] });
    expect(large?.enforced).toMatchObject({ score: 800, reasons: ['AMOUNT_HIGH'] });
    expect(fast?.enforced).toMatchObject({ score: 450, reasons: ['VELOCITY_HIGH'] });
    expect(odd?.enforced).toMatchObject({ score: 400, reasons: ['QUANTITY_ANOMALY'] });
    expect(small?.enforced).toMatchObject({
      plugin: { name: 'basic-rules', version: '1.0.0' },
    });
  });

  test('when the deployment configures other thresholds, then the plugin uses them', async () => {
    const engine = await engineFor(shippedPluginsDir, {
      settings: {
        denyList: [],
        thresholds: { amountReviewMinor: 1_000, amountRejectMinor: 2_000 },
      },
    });

    const [order] = await engine.assess([someFeatures({ amountMinor: 2_500n })]);

    expect(order?.enforced).toMatchObject({ score: 800, reasons: ['AMOUNT_HIGH'] });
  });
});

describe('the sandbox', () => {
  test('when a plugin loops forever, then that order times out within the limit, the others of the batch are scored and the next call works', async () => {
    const engine = await engineFor(folder().add('1.0.0', 'looping').dir, {
      limits: { callTimeoutMs: 300 },
    });

    const results = await engine.assess([
      someFeatures(),
      someFeatures({ amountMinor: triggerAmount }),
      someFeatures(),
    ]);
    const next = await engine.assess([someFeatures()]);

    expect(kinds(results.map((r) => r.enforced))).toEqual(['scored', 'timeout', 'scored']);
    const stopped = results[1]?.enforced;
    expect(stopped?.durationMs).toBeGreaterThanOrEqual(300);
    expect(kinds(next.map((r) => r.enforced))).toEqual(['scored']);
    expect(engine.status().versions.find((v) => v.state === 'active')?.workerStarts).toBe(2);
  });

  test('when a fixture is configured to fault on every order (as a drill does), then it still passes its golden cases and every order fails', async () => {
    const engine = await engineFor(folder().add('1.0.0', 'trapping').dir, {
      settings: { denyList: [], thresholds: { fixtureFaultEveryOrder: 1 } },
    });

    const results = await engine.assess([someFeatures(), someFeatures()]);

    expect(engine.status().active?.version).toBe('1.0.0');
    expect(kinds(results.map((r) => r.enforced))).toEqual(['trap', 'trap']);
  });

  test('when a plugin traps, then that order fails as a trap, its worker is replaced and the rest of the batch is scored', async () => {
    const engine = await engineFor(folder().add('1.0.0', 'trapping').dir);

    const results = await engine.assess([
      someFeatures({ amountMinor: triggerAmount }),
      someFeatures(),
      someFeatures({ amountMinor: triggerAmount }),
      someFeatures(),
    ]);

    expect(kinds(results.map((r) => r.enforced))).toEqual(['trap', 'scored', 'trap', 'scored']);
    expect(results[0]?.enforced).toMatchObject({
      detail: expect.stringContaining('unreachable') as unknown,
    });
    expect(engine.status().versions.find((v) => v.state === 'active')?.workerStarts).toBe(3);
  });

  test('when a plugin grows its memory to its maximum, then that order fails as memory and the process is unaffected', async () => {
    const engine = await engineFor(folder().add('1.0.0', 'memory-hungry').dir);
    const heapBefore = process.memoryUsage().heapUsed;

    const results = await engine.assess([
      someFeatures({ amountMinor: triggerAmount }),
      someFeatures(),
    ]);

    expect(kinds(results.map((r) => r.enforced))).toEqual(['memory', 'scored']);
    expect(results[0]?.enforced).toMatchObject({
      detail: expect.stringContaining('64 pages') as unknown,
    });
    // The 4 MiB it took lived in the worker, which is gone.
    expect(process.memoryUsage().heapUsed - heapBefore).toBeLessThan(4 * 1024 * 1024);
  });

  test('when a plugin answers a score outside 0..1000, then that order is invalid-output', async () => {
    const engine = await engineFor(folder().add('1.0.0', 'garbage').dir);

    const results = await engine.assess([
      someFeatures({ amountMinor: triggerAmount }),
      someFeatures(),
    ]);

    expect(kinds(results.map((r) => r.enforced))).toEqual(['invalid-output', 'scored']);
    expect(results[0]?.enforced).toMatchObject({ detail: 'score 5000 is outside 0..1000' });
  });

  test('when the caller has given up, then nothing is scored and the outcome says so', async () => {
    const engine = await engineFor(shippedPluginsDir);

    const [result] = await engine.assess([someFeatures()], AbortSignal.abort());

    expect(result?.enforced).toMatchObject({ kind: 'failed', failure: 'timeout' });
  });

  test('when the configured folder does not exist, then the shipped rule set serves and the fallback is logged', async () => {
    const missing = join(folder().dir, 'not-there');
    const engine = await engineFor(missing);

    const [result] = await engine.assess([someFeatures()]);

    expect(result?.enforced).toMatchObject({ kind: 'scored', plugin: { version: '1.0.0' } });
    expect(engine.status().pluginsDir).toBe(shippedPluginsDir);
    expect(engine.logLines()).toContainEqual(
      expect.objectContaining({
        msg: 'risk plugin folder does not exist; serving the shipped rule set',
        dir: missing,
      }),
    );
  });

  test('when the folder holds no plugin, then orders fail as no-plugin', async () => {
    const engine = await engineFor(folder().dir);

    const [result] = await engine.assess([someFeatures()]);

    expect(result?.enforced).toMatchObject({ kind: 'failed', failure: 'no-plugin' });
  });
});

describe('validation at load', () => {
  const refusals: [string, (f: PluginFolder) => void, RegExp][] = [
    [
      'a module that is not WebAssembly',
      (f) => f.add('1.1.0', 'basic-rules').write('1.1.0', 'plugin.wasm', 'MZ garbage'),
      /not a valid WebAssembly module/,
    ],
    [
      'an oversized module',
      (f) =>
        f
          .add('1.1.0', 'basic-rules')
          .write('1.1.0', 'plugin.wasm', new Uint8Array(2 * 1024 * 1024)),
      /bytes, above the limit of 1048576/,
    ],
    [
      'another ABI version',
      (f) => f.add('1.1.0', 'abi-v2'),
      /speaks ABI version 2; the host speaks 1/,
    ],
    ['a memory without maximum', (f) => f.add('1.1.0', 'no-memory-maximum'), /declares no maximum/],
    [
      'a memory maximum above the cap',
      (f) => f.add('1.1.0', 'memory-above-cap'),
      /maximum is 65536 pages, above the cap of 256/,
    ],
    [
      'an import the host does not give',
      (f) => f.add('1.1.0', 'forbidden-import'),
      /imports function wasi_snapshot_preview1\.fd_write/,
    ],
    [
      'failing golden cases',
      (f) => f.add('1.1.0', 'constant', readFileSync(join(shippedRuleSet, 'golden.json'), 'utf8')),
      /golden case "a small order of a known customer scores 0" expected score 0\.\.0 with \[\], got 500 with \[FIXTURE\]/,
    ],
    [
      'no golden cases',
      (f) =>
        f.add('1.1.0', 'basic-rules', '{"settings":{"denyList":[],"thresholds":{}},"cases":[]}'),
      /at least one golden case/,
    ],
  ];

  test.each(refusals)(
    'when a new version is %s, then it is refused with a logged error and the previous version keeps serving',
    async (_, addBadVersion, error) => {
      const plugins = folder().add('1.0.0', 'basic-rules');
      const engine = await engineFor(plugins.dir);

      addBadVersion(plugins);
      await engine.rescan();

      const status = engine.status();
      expect(status.active?.version).toBe('1.0.0');
      expect(status.candidate).toBeUndefined();
      expect(status.versions.find((v) => v.state === 'refused')).toMatchObject({
        plugin: { name: 'basic-rules', version: '1.1.0' },
        error: expect.stringMatching(error) as unknown,
      });
      expect(
        engine
          .logLines()
          .find((l) => l.msg === 'risk plugin refused; the previous version keeps serving'),
      ).toMatchObject({
        level: 'error',
        plugin: 'basic-rules@1.1.0',
        why: expect.stringMatching(error) as unknown,
      });
      const [result] = await engine.assess([someFeatures()]);
      expect(result?.enforced).toMatchObject({ kind: 'scored', plugin: { version: '1.0.0' } });
    },
  );

  test('when a refused version is removed, then its refusal leaves the status', async () => {
    const plugins = folder().add('1.0.0', 'basic-rules').add('1.1.0', 'abi-v2');
    const engine = await engineFor(plugins.dir);
    const refusedBefore = engine.status().versions.filter((v) => v.state === 'refused');

    plugins.remove('1.1.0');
    await engine.rescan();

    expect(refusedBefore).toHaveLength(1);
    expect(engine.status().versions.filter((v) => v.state === 'refused')).toEqual([]);
  });

  test('when the serving version is replaced in place by a broken file, then the loaded one keeps serving', async () => {
    const plugins = folder().add('1.0.0', 'basic-rules');
    const engine = await engineFor(plugins.dir);
    const before = engine.status().active;

    plugins.write(
      '1.0.0',
      'plugin.wasm',
      readFileSync(join(shippedPluginsDir, 'fixtures', 'forbidden-import.wasm')),
    );
    await engine.rescan();

    expect(engine.status().active).toEqual(before);
    expect(engine.status().versions.find((v) => v.state === 'refused')?.error).toMatch(/fd_write/);
  });
});

describe('live swap and rollout', () => {
  function rolloutOf(current: { value: Rollout }): () => Rollout {
    return () => current.value;
  }

  test('when a new version is dropped in, then it is validated and becomes the candidate; shadow mode scores it without enforcing it', async () => {
    const plugins = folder().add('1.0.0', 'basic-rules');
    const rollout = { value: { candidatePercent: 100, mode: 'shadow' } as Rollout };
    const engine = await engineFor(plugins.dir, { rollout: rolloutOf(rollout) });

    plugins.add('1.1.0', 'constant');
    await engine.rescan();
    const [shadowed] = await engine.assess([someFeatures()]);

    expect(engine.status()).toMatchObject({
      active: { version: '1.0.0' },
      candidate: { version: '1.1.0' },
    });
    expect(shadowed).toMatchObject({
      enforced: { kind: 'scored', score: 0, plugin: { version: '1.0.0' } },
      shadow: { kind: 'scored', score: 500, reasons: ['FIXTURE'], plugin: { version: '1.1.0' } },
    });

    rollout.value = { candidatePercent: 100, mode: 'enforce' };
    const [enforced] = await engine.assess([someFeatures()]);
    expect(enforced).toMatchObject({ enforced: { score: 500, plugin: { version: '1.1.0' } } });
    expect(enforced?.shadow).toBeUndefined();
  });

  test('when the candidate gets a share, then the same orders always go to it, about that share of them', async () => {
    const plugins = folder().add('1.0.0', 'basic-rules').add('1.1.0', 'constant');
    const engine = await engineFor(plugins.dir, {
      rollout: () => ({ candidatePercent: 30, mode: 'enforce' }),
    });
    const orders = Array.from({ length: 400 }, () => someFeatures());

    const first = await engine.assess(orders);
    const second = await engine.assess(orders);

    const toCandidate = first.filter(
      (r) => r.enforced.kind === 'scored' && r.enforced.plugin.version === '1.1.0',
    );
    expect(toCandidate.length).toBeGreaterThan(80);
    expect(toCandidate.length).toBeLessThan(160);
    expect(second.map((r) => r.enforced.kind === 'scored' && r.enforced.plugin.version)).toEqual(
      first.map((r) => r.enforced.kind === 'scored' && r.enforced.plugin.version),
    );
  });

  test('when the serving version is replaced while a batch runs, then the batch finishes on the old version and the next one meets the new', async () => {
    const plugins = folder().add('1.0.0', 'looping');
    const engine = await engineFor(plugins.dir, { limits: { callTimeoutMs: 2_000 } });
    const before = engine.status().active?.sha256;

    // The looping order holds the old worker for 2 s while the new file is validated and loaded.
    const running = engine.assess([
      someFeatures(),
      someFeatures({ amountMinor: triggerAmount }),
      someFeatures(),
    ]);
    plugins.add('1.0.0', 'constant');
    await engine.rescan();
    const finished = await running;
    const [next] = await engine.assess([someFeatures()]);

    expect(kinds(finished.map((r) => r.enforced))).toEqual(['scored', 'timeout', 'scored']);
    expect(finished[2]?.enforced).toMatchObject({ plugin: { sha256: before } });
    expect(next?.enforced).toMatchObject({ kind: 'scored', score: 500 });
  });

  test('when the old version is removed, then the candidate becomes the active version', async () => {
    const plugins = folder().add('1.0.0', 'basic-rules').add('1.1.0', 'constant');
    const engine = await engineFor(plugins.dir);

    plugins.remove('1.0.0');
    await engine.rescan();

    expect(engine.status()).toMatchObject({ active: { version: '1.1.0' } });
    expect(engine.status().candidate).toBeUndefined();
  });

  test('when a version is dropped into a watched folder, then it is picked up without being asked', async () => {
    const plugins = folder().add('1.0.0', 'basic-rules');
    const engine = await engineFor(plugins.dir);

    plugins.add('1.1.0', 'constant');

    await vi.waitFor(() => expect(engine.status().candidate?.version).toBe('1.1.0'), {
      timeout: 20_000,
      interval: 50,
    });
  });
});

describe('retries of transient failures', () => {
  test('when a plugin loops forever, then its order is called retries + 1 times, never again on the worker that stalled, and still ends as timeout', async () => {
    const engine = await engineFor(folder().add('1.0.0', 'looping').dir, {
      limits: { callTimeoutMs: 300 },
      retries: 1,
    });

    const results = await engine.assess([
      someFeatures(),
      someFeatures({ amountMinor: triggerAmount }),
      someFeatures(),
    ]);

    expect(kinds(results.map((r) => r.enforced))).toEqual(['scored', 'timeout', 'scored']);
    expect(results.map((r) => r.enforced.attempts)).toEqual([1, 2, 1]);
    // The first worker, and the one that replaced it: it scored the third order, then ran the
    // retry (the worker that stalled was not trusted again); the next starts when it is needed.
    expect(engine.status().versions.find((v) => v.state === 'active')?.workerStarts).toBe(2);
    expect(kinds((await engine.assess([someFeatures()])).map((r) => r.enforced))).toEqual([
      'scored',
    ]);
  });

  test('when a plugin stalls only on its first call of a worker, then the order is retried after the rest of the batch and scored', async () => {
    const engine = await engineFor(folder().add('1.0.0', 'looping').dir, {
      settings: { denyList: [], thresholds: { fixtureFaultFirstCallOnly: 1 } },
      limits: { callTimeoutMs: 300 },
      retries: 1,
    });

    const results = await engine.assess([
      someFeatures({ amountMinor: triggerAmount }),
      someFeatures(),
    ]);

    expect(results.map((r) => r.enforced)).toMatchObject([
      { kind: 'scored', score: 100, attempts: 2 },
      { kind: 'scored', score: 100, attempts: 1 },
    ]);
  });

  test('when a plugin traps, then the order is not retried: the same input would trap again', async () => {
    const engine = await engineFor(folder().add('1.0.0', 'trapping').dir, { retries: 2 });

    const results = await engine.assess([
      someFeatures({ amountMinor: triggerAmount }),
      someFeatures(),
    ]);

    expect(results.map((r) => r.enforced)).toMatchObject([
      { kind: 'failed', failure: 'trap', attempts: 1 },
      { kind: 'scored', attempts: 1 },
    ]);
    expect(engine.status().versions.find((v) => v.state === 'active')?.workerStarts).toBe(2);
  });

  test('when an order times out on every attempt, then each attempt counts in the breaker', async () => {
    const engine = await engineFor(folder().add('1.0.0', 'looping').dir, {
      limits: { callTimeoutMs: 300 },
      retries: 1,
      breaker: { failureThreshold: 2, openMs: 5_000 },
    });

    const [looping] = await engine.assess([someFeatures({ amountMinor: triggerAmount })]);

    expect(looping?.enforced).toMatchObject({ failure: 'timeout', attempts: 2 });
    expect(engine.status().breaker).toBe('open');
  });
});

describe('the breaker', () => {
  test('when a plugin fails repeatedly, then its breaker opens, orders get breaker-open, and after the open time a good batch closes it', async () => {
    let now = 1_000_000;
    const engine = await engineFor(folder().add('1.0.0', 'trapping').dir, {
      breaker: { failureThreshold: 3, openMs: 5_000 },
      now: () => now,
    });
    const failing = () => someFeatures({ amountMinor: triggerAmount });

    const tripping = await engine.assess([failing(), failing(), failing()]);
    const refused = await engine.assess([someFeatures()]);
    now += 5_000;
    const halfOpen = engine.status().breaker;
    const trial = await engine.assess([someFeatures()]);

    expect(kinds(tripping.map((r) => r.enforced))).toEqual(['trap', 'trap', 'trap']);
    expect(kinds(refused.map((r) => r.enforced))).toEqual(['breaker-open']);
    expect(halfOpen).toBe('half-open');
    expect(kinds(trial.map((r) => r.enforced))).toEqual(['scored']);
    expect(engine.status().breaker).toBe('closed');
  });

  test('when a batch keeps failing, then the breaker opens at the threshold and the rest of the batch is not run', async () => {
    const engine = await engineFor(folder().add('1.0.0', 'trapping').dir, {
      breaker: { failureThreshold: 2, openMs: 5_000 },
    });

    const results = await engine.assess(
      Array.from({ length: 6 }, () => someFeatures({ amountMinor: triggerAmount })),
    );

    expect(kinds(results.map((r) => r.enforced))).toEqual([
      'trap',
      'trap',
      'breaker-open',
      'breaker-open',
      'breaker-open',
      'breaker-open',
    ]);
    // The first worker, and the one the first trap's replacement ran the second order in.
    expect(engine.status().versions.find((v) => v.state === 'active')?.workerStarts).toBe(2);
  });

  test('when the breaker is half-open, then one order tries the plugin and the others follow only if it scores', async () => {
    let now = 1_000_000;
    const engine = await engineFor(folder().add('1.0.0', 'trapping').dir, {
      breaker: { failureThreshold: 1, openMs: 5_000 },
      now: () => now,
    });
    await engine.assess([someFeatures({ amountMinor: triggerAmount })]);
    now += 5_000;

    const failedTrial = await engine.assess([
      someFeatures({ amountMinor: triggerAmount }),
      someFeatures(),
    ]);
    now += 5_000;
    const goodTrial = await engine.assess([someFeatures(), someFeatures()]);

    expect(kinds(failedTrial.map((r) => r.enforced))).toEqual(['trap', 'breaker-open']);
    expect(kinds(goodTrial.map((r) => r.enforced))).toEqual(['scored', 'scored']);
    expect(engine.status().breaker).toBe('closed');
  });

  test('when the trial batch fails, then the breaker opens again', async () => {
    let now = 1_000_000;
    const engine = await engineFor(folder().add('1.0.0', 'trapping').dir, {
      breaker: { failureThreshold: 1, openMs: 5_000 },
      now: () => now,
    });

    await engine.assess([someFeatures({ amountMinor: triggerAmount })]);
    now += 5_000;
    await engine.assess([someFeatures({ amountMinor: triggerAmount })]);
    const after = await engine.assess([someFeatures()]);

    expect(engine.status().breaker).toBe('open');
    expect(kinds(after.map((r) => r.enforced))).toEqual(['breaker-open']);
  });
});
