import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  ConfigSource,
  LiveConfig,
  configValue,
  describeConfig,
  loadConfigDocument,
  parseServiceConfig,
  platformConfigSchema,
  reloadable,
  reloadablePaths,
  type ConfigEvent,
} from '../src/index.js';
import { eventually } from '../src/testing/index.js';

/**
 * Hot reload of configuration files: reloadable keys follow the file, an invalid file is rejected
 * whole, a changed fixed key is reported and not applied, and a Kubernetes ConfigMap symlink swap
 * is noticed.
 */
const demoSchema = z.strictObject({
  port: configValue.port(),
  database: z.string().min(1),
  timeoutMs: reloadable(configValue.positiveInt()),
  retryLimit: reloadable(configValue.positiveInt()),
});

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'orderly-live-config-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function serviceYaml(values: {
  timeoutMs?: number;
  retryLimit?: number;
  port?: number;
  logLevel?: string;
  poll?: number;
}): string {
  return [
    `logLevel: ${values.logLevel ?? 'info'}`,
    'configReload:',
    '  watch: true',
    '  debounceMs: 20',
    `  pollIntervalMs: ${values.poll ?? 100}`,
    'services:',
    '  demo:',
    `    port: ${String(values.port ?? 7000)}`,
    '    database: demo_db',
    `    timeoutMs: ${String(values.timeoutMs ?? 1000)}`,
    `    retryLimit: ${String(values.retryLimit ?? 3)}`,
    '',
  ].join('\n');
}

/** A LiveConfig following `file`, as runServiceMain sets it up. */
function follow(file: string) {
  const source = new ConfigSource({
    load: () => loadConfigDocument({ argv: ['--config', file], env: {} }),
    validate: (document) => void parseServiceConfig(document, 'demo', demoSchema),
  });
  const live = LiveConfig.follow(source, 'demo', demoSchema);
  const events: ConfigEvent[] = [];
  live.onEvent((event) => events.push(event));
  source.watch(() => ({
    debounceMs: live.platform.configReload.debounceMs,
    pollIntervalMs: live.platform.configReload.pollIntervalMs,
  }));
  cleanups.push(() => {
    live.close();
    source.close();
  });
  return { live, source, events };
}

describe('live configuration', () => {
  test('when a reloadable key changes in the file, then the running value follows and the change is announced once with its hash', async () => {
    const file = join(tempDir(), 'config.yaml');
    writeFileSync(file, serviceYaml({ timeoutMs: 1000 }));
    const { live, events } = follow(file);
    const readAtUseTime = () => live.service.timeoutMs;
    const hashBefore = live.hash;

    writeFileSync(file, serviceYaml({ timeoutMs: 2500, retryLimit: 7 }));

    await eventually(() => expect(readAtUseTime()).toBe(2500));
    expect(live.service.retryLimit).toBe(7);
    const applied = events.filter((e) => e.kind === 'applied');
    expect(applied).toHaveLength(1);
    expect(applied[0]).toMatchObject({
      changed: ['services.demo.retryLimit', 'services.demo.timeoutMs'],
      restartRequired: [],
    });
    expect(live.hash).not.toBe(hashBefore);
    expect(applied[0]?.kind === 'applied' && applied[0].hash).toBe(live.hash);
  });

  test('when the new file is invalid, then it is rejected whole, the old values stay, and the error names key, value and rule', async () => {
    const file = join(tempDir(), 'config.yaml');
    writeFileSync(file, serviceYaml({ timeoutMs: 1000, retryLimit: 3 }));
    const { live, events } = follow(file);

    // A valid change (retryLimit) next to an invalid one (timeoutMs): neither is applied.
    writeFileSync(file, serviceYaml({ timeoutMs: -5, retryLimit: 9 }));
    await eventually(() => expect(live.status().reloadError).toBeDefined());

    expect(live.service).toMatchObject({ timeoutMs: 1000, retryLimit: 3 });
    expect(live.status().reloadError).toMatch(/services\.demo\.timeoutMs: value -5 is invalid/);
    expect(events.map((e) => e.kind)).toEqual(['rejected']);

    writeFileSync(file, 'services: [this is: not: valid yaml\n');
    await eventually(() => expect(live.status().reloadError).toMatch(/not valid YAML/));
    expect(live.service.retryLimit).toBe(3);

    writeFileSync(file, serviceYaml({ timeoutMs: 1200, retryLimit: 9 }));
    await eventually(() => expect(live.service.timeoutMs).toBe(1200));
    expect(live.status().reloadError).toBeUndefined();
  });

  test('when a key that is not reloadable changes, then it keeps its start value and is reported as needing a restart', async () => {
    const file = join(tempDir(), 'config.yaml');
    writeFileSync(file, serviceYaml({ port: 7000, timeoutMs: 1000 }));
    const { live, events } = follow(file);

    writeFileSync(file, serviceYaml({ port: 7001, timeoutMs: 1500 }));
    await eventually(() => expect(live.service.timeoutMs).toBe(1500));

    expect(live.service.port).toBe(7000);
    expect(live.status().restartRequired).toEqual(['services.demo.port']);
    expect(events.at(-1)).toMatchObject({
      kind: 'applied',
      changed: ['services.demo.timeoutMs'],
      restartRequired: ['services.demo.port'],
    });

    // Only the fixed key changes: nothing is applied, the restart is still reported.
    writeFileSync(file, serviceYaml({ port: 7002, timeoutMs: 1500 }));
    await eventually(() =>
      expect(events.at(-1)).toMatchObject({
        kind: 'restart-required',
        keys: ['services.demo.port'],
      }),
    );
    expect(live.service.port).toBe(7000);

    // Back to the start value: nothing needs a restart any more.
    writeFileSync(file, serviceYaml({ port: 7000, timeoutMs: 1500 }));
    await eventually(() => expect(live.status().restartRequired).toEqual([]));
  });

  test('when a ConfigMap volume swaps its ..data symlink, then the change is noticed through the directory watch', async () => {
    // The layout kubelet writes: config.yaml -> ..data/config.yaml, ..data -> ..<timestamp>/
    const dir = tempDir();
    const version = (name: string, yaml: string) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'config.yaml'), yaml);
    };
    version('..2026_01_01_00_00_00.1', serviceYaml({ timeoutMs: 1000, poll: 0 }));
    symlinkSync('..2026_01_01_00_00_00.1', join(dir, '..data'));
    symlinkSync('..data/config.yaml', join(dir, 'config.yaml'));
    const { live, events } = follow(join(dir, 'config.yaml'));
    expect(live.platform.configReload.pollIntervalMs).toBe(0); // the watch alone must notice

    version('..2026_01_01_00_01_00.2', serviceYaml({ timeoutMs: 4000, poll: 0 }));
    symlinkSync('..2026_01_01_00_01_00.2', join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
    rmSync(join(dir, '..2026_01_01_00_00_00.1'), { recursive: true });

    await eventually(() => expect(live.service.timeoutMs).toBe(4000));
    expect(events.filter((e) => e.kind === 'applied')).toHaveLength(1);
    expect(events.filter((e) => e.kind === 'rejected')).toHaveLength(0);
  });

  test('when events are missed, then the poll still picks the change up', async () => {
    const file = join(tempDir(), 'config.yaml');
    writeFileSync(file, serviceYaml({ timeoutMs: 1000, poll: 50 }));
    const source = new ConfigSource({
      load: () => loadConfigDocument({ argv: ['--config', file], env: {} }),
    });
    const live = LiveConfig.follow(source, 'demo', demoSchema);
    cleanups.push(() => source.close());
    source.watch(() => ({ debounceMs: 0, pollIntervalMs: 50, watchDirectories: false }));

    writeFileSync(file, serviceYaml({ timeoutMs: 3000, poll: 50 }));
    await eventually(() => expect(live.service.timeoutMs).toBe(3000));
  });

  test('the platform schema marks its reloadable keys, and fixed ones are not', () => {
    const paths = reloadablePaths(platformConfigSchema);
    expect(paths).toEqual(
      expect.arrayContaining(['logLevel', 'rpc.defaultTimeoutMs', 'configReload', 'flags.context']),
    );
    expect(paths).not.toContain('postgres.url');
    expect(paths).not.toContain('flags.file');
  });
});

describe('configuration layers', () => {
  test('when command-line flags set keys, then they win over the environment, the file and the defaults', () => {
    const file = join(tempDir(), 'config.yaml');
    writeFileSync(
      file,
      'services:\n  demo:\n    port: 7000\n    database: from_file\n    timeoutMs: 10\n    retryLimit: 1\n',
    );
    const document = loadConfigDocument({
      argv: [
        '--config',
        file,
        '--set',
        'services.demo.timeoutMs=30',
        '--services.demo.retryLimit=4',
        '--json',
      ],
      env: {
        ORDERLY_SERVICES__DEMO__TIMEOUT_MS: '20',
        ORDERLY_SERVICES__DEMO__DATABASE: 'from_env',
      },
    });
    const config = parseServiceConfig(document, 'demo', demoSchema);
    expect(config.service).toEqual({
      port: 7000,
      database: 'from_env',
      timeoutMs: 30,
      retryLimit: 4,
    });
  });

  test('when the configuration is described, then each value names its source and secrets are redacted', () => {
    const file = join(tempDir(), 'config.yaml');
    writeFileSync(
      file,
      'services:\n  demo:\n    port: 7000\n    database: demo\n    timeoutMs: 10\n    retryLimit: 1\n    apiToken: abc\n',
    );
    const document = loadConfigDocument({
      argv: ['--config', file, '--set', 'services.demo.retryLimit=2'],
      env: { ORDERLY_POSTGRES__URL: 'postgres://app:s3cret@db.internal:5432/postgres' },
    });
    const entries = new Map(
      describeConfig(document.document, document.layers ?? []).map((e) => [e.key, e]),
    );
    expect(entries.get('logLevel')).toMatchObject({ source: 'default' });
    expect(entries.get('services.demo.port')).toMatchObject({
      source: 'file',
      value: 7000,
      origin: file,
    });
    expect(entries.get('services.demo.retryLimit')).toMatchObject({ source: 'flag', value: '2' });
    expect(entries.get('postgres.url')).toMatchObject({
      source: 'env',
      value: 'postgres://app:[redacted]@db.internal:5432/postgres',
    });
    expect(entries.get('services.demo.apiToken')).toMatchObject({ value: '[redacted]' });
    expect(entries.get('embedded.postgresPassword')).toMatchObject({ value: '[redacted]' });
    expect(JSON.stringify([...entries.values()])).not.toContain('s3cret');
  });
});
