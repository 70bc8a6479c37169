import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { beforeAll, describe, expect, test } from 'vitest';
import { checkoutFixture, guardRoot } from './guard-runner.ts';

const require = createRequire(import.meta.url);
const typescriptDir = dirname(require.resolve('typescript/package.json'));
const packageJson = JSON.parse(readFileSync(join(guardRoot, 'package.json'), 'utf8')) as {
  name: string;
};
let repo: string;

/**
 * The package as npm would install it in someone else's repository: compiled JavaScript (the
 * build step, into a temporary directory), `bin/` and `package.json`, no `src/`, no tsx, and
 * TypeScript as its only runtime dependency.
 */
beforeAll(() => {
  const scratch = mkdtempSync(join(tmpdir(), 'guard-scratch-'));
  const installed = join(scratch, 'repo', 'node_modules', ...packageJson.name.split('/'));
  mkdirSync(installed, { recursive: true });
  execFileSync(
    process.execPath,
    [
      join(typescriptDir, 'bin', 'tsc'),
      '-p',
      join(guardRoot, 'tsconfig.build.json'),
      '--outDir',
      join(installed, 'dist'),
    ],
    { stdio: 'inherit' },
  );
  cpSync(join(guardRoot, 'bin'), join(installed, 'bin'), { recursive: true });
  cpSync(join(guardRoot, 'package.json'), join(installed, 'package.json'));
  repo = join(scratch, 'repo');
  cpSync(checkoutFixture, repo, { recursive: true });
  symlinkSync(typescriptDir, join(repo, 'node_modules', 'typescript'), 'dir');
  mkdirSync(join(repo, 'node_modules', '.bin'));
  symlinkSync(
    join(installed, 'bin', 'orderly-guard.mjs'),
    join(repo, 'node_modules', '.bin', 'orderly-guard'),
  );
  writeFileSync(join(repo, '.npmrc'), 'offline=true\n');
}, 120_000);

describe('npx orderly-guard in a repository outside this monorepo', { timeout: 120_000 }, () => {
  test('when tsx cannot be resolved there, then the compiled guard still runs', () => {
    const probe = spawnSync(process.execPath, ['-e', "require.resolve('tsx')"], { cwd: repo });
    expect(probe.status).not.toBe(0);
  });

  test('when `npx orderly-guard check .` runs in the checkout service, then it reports the call chain and exits 1', () => {
    const result = spawnSync('npx', ['orderly-guard', 'check', '.'], {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
    });
    expect(result.stderr).not.toContain('tsx');
    expect(result.status).toBe(1);
    expect(result.stdout).toContain(
      "src/server.ts:8:23  no-sync-call-chain  handler app.post('/checkout') makes 3 synchronous outbound calls",
    );
    expect(result.stdout).toContain('orderly-guard: 2 findings (no-sync-call-chain 2)');
  });

  test('when the layout has no services where the defaults look, then the output says how to configure it', () => {
    writeFileSync(join(repo, 'orderly-guard.config.json'), '{ "serviceRoots": ["apps/*"] }\n');
    const result = spawnSync('npx', ['orderly-guard', 'check', '.', '--format', 'sarif'], {
      cwd: repo,
      encoding: 'utf8',
      env: { ...process.env, npm_config_offline: 'true', npm_config_update_notifier: 'false' },
    });
    expect(result.status).toBe(0);
    expect(result.stderr).toContain('no service found under serviceRoots ["apps/*"]');
    expect(JSON.parse(result.stdout)).toMatchObject({ version: '2.1.0' });
  });
});
