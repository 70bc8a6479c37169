import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';

/**
 * `npm start`, `npm run start:distributed` and `npm run start:cluster` refuse what they do not understand and start nothing
 * for `--help`: the embedded launcher would first create its data folder, so that folder must not
 * appear; the distributed one would first check PostgreSQL and NATS, so it must print no such check.
 */
const repoRoot = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);
const folder = mkdtempSync(join(tmpdir(), 'orderly-launcher-cli-test-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function launcher(entryPoint: string, args: readonly string[]) {
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', `tools/launcher/src/${entryPoint}`, ...args],
      // A launcher that did start would be stopped here rather than run on.
      { cwd: repoRoot, timeout: 60_000 },
    );
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    return { code: failed.code, stdout: failed.stdout ?? '', stderr: failed.stderr ?? '' };
  }
}

describe('npm start', () => {
  test('when --help is given, then it prints the usage, exits 0 and creates no data folder', async () => {
    const dataDir = join(folder, 'data');

    const result = await launcher('embedded.ts', [`--dataDir=${dataDir}`, '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm start -- \[--config <file>\]/m);
    expect(existsSync(dataDir)).toBe(false);
  });

  test('when an option is unknown, then it exits 2 naming it and creates no data folder', async () => {
    const dataDir = join(folder, 'data');

    const result = await launcher('embedded.ts', [`--dataDir=${dataDir}`, '--confg', 'x.yaml']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^npm start: unknown option '--confg'\nusage: npm start -- /);
    expect(existsSync(dataDir)).toBe(false);
  });
});

describe('npm run start:distributed', () => {
  test('when --help is given, then it prints the usage and exits 0 without checking or starting anything', async () => {
    const result = await launcher('distributed.ts', ['--config', 'config/dev.yaml', '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run start:distributed -- /m);
    expect(result.stderr).toBe('');
  });

  test('when a setting is written with a space, then it exits 2 saying how to write it', async () => {
    const result = await launcher('distributed.ts', ['--logLevel', 'debug']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(
      /^npm run start:distributed: unknown option '--logLevel' \(a configuration setting is written --logLevel=<value>\)\n/,
    );
  });
});

describe('npm run start:cluster', () => {
  test('when --help is given, then it prints the usage, exits 0 and starts nothing', async () => {
    const dataDir = join(folder, 'cluster');

    const result = await launcher('cluster.ts', [
      '--config',
      'config/cluster.yaml',
      `--dataDir=${dataDir}`,
      '--help',
    ]);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run start:cluster -- /m);
    expect(existsSync(dataDir)).toBe(false);
  });

  test('when --replicas is not a whole number, then it exits 2 naming it and starts nothing', async () => {
    const dataDir = join(folder, 'cluster');

    const result = await launcher('cluster.ts', [
      '--config',
      'config/cluster.yaml',
      `--dataDir=${dataDir}`,
      '--replicas',
      'two',
    ]);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--replicas: two is not a whole number/);
    expect(existsSync(dataDir)).toBe(false);
  });
});
