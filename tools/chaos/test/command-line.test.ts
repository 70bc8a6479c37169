import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, test } from 'vitest';

/**
 * `npm run chaos` refuses a command line it does not understand before anything starts, and
 * `--help` prints the usage and starts nothing: no drill folder, no PostgreSQL, NATS or service, no
 * report. Runs the real entry point with its own temporary folder, where a drill would put its work.
 */
const repoRoot = new URL('../../../', import.meta.url).pathname;
const run = promisify(execFile);
const folder = mkdtempSync(join(tmpdir(), 'orderly-chaos-cli-test-'));
afterAll(() => rmSync(folder, { recursive: true, force: true }));

/** A drill takes minutes; anything that returns within this started none. */
const wellUnderADrillMs = 30_000;

async function chaos(args: readonly string[]) {
  const started = Date.now();
  const env = { ...process.env, TMPDIR: folder };
  try {
    const { stdout, stderr } = await run(
      process.execPath,
      ['--import', 'tsx', 'tools/chaos/src/main.ts', ...args],
      { cwd: repoRoot, env, timeout: 5 * 60_000 },
    );
    return { code: 0, stdout, stderr, ms: Date.now() - started };
  } catch (error) {
    const failed = error as { code?: unknown; stdout?: string; stderr?: string };
    if (typeof failed.code !== 'number') throw error;
    const { stdout = '', stderr = '' } = failed;
    return { code: failed.code, stdout, stderr, ms: Date.now() - started };
  }
}

/** What a drill leaves in the temporary folder: its work folder and its service log. */
const drillTraces = () => readdirSync(folder).filter((name) => name.startsWith('orderly-chaos-'));

describe('npm run chaos', () => {
  test('when --help is given, then it prints the usage and options, exits 0 at once and starts no drill', async () => {
    const out = join(folder, 'report');

    const result = await chaos(['--drill', 'chaos/drills/short.yaml', '--out', out, '--help']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^usage: npm run chaos -- \[--drill <file>\]/m);
    expect(result.stdout).toContain('--service-log <file>');
    expect(result.stdout).not.toContain('drill short');
    expect(result.ms).toBeLessThan(wellUnderADrillMs);
    expect(drillTraces()).toEqual([]);
    expect(existsSync(`${out}.md`) || existsSync(`${out}.json`)).toBe(false);
  });

  test('when an option is misspelt, then it exits 2 naming it with the usage line, and starts no drill', async () => {
    const result = await chaos(['--dril', 'chaos/drills/short.yaml']);

    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      "npm run chaos: unknown option '--dril'\n" +
        'usage: npm run chaos -- [--drill <file>] [--out <path prefix>] [--service-log <file>]\n',
    );
    expect(result.stdout).toBe('');
    expect(result.ms).toBeLessThan(wellUnderADrillMs);
    expect(drillTraces()).toEqual([]);
  });

  test('when an option misses its value, then it exits 2 naming it', async () => {
    const result = await chaos(['--drill']);

    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^npm run chaos: option '--drill' needs a value\nusage: /);
    expect(drillTraces()).toEqual([]);
  });

  test('when --version is given, then it prints the package version and the build', async () => {
    const result = await chaos(['--version']);

    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^@orderly\/chaos 0\.1\.0 \(Orderly \d+\.\d+\.\d+, commit /);
    expect(drillTraces()).toEqual([]);
  });
});
