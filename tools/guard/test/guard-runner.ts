import { execFileSync, spawnSync } from 'node:child_process';
import { vi } from 'vitest';
import { main } from '../src/cli.ts';
import { checkRepository, type CheckResult } from '../src/guard-check.ts';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const guardRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
export const badFixture = join(guardRoot, 'fixtures', 'bad');
export const goodFixture = join(guardRoot, 'fixtures', 'good');
export const contractsFixture = join(guardRoot, 'fixtures', 'contracts');
export const checkoutFixture = join(guardRoot, 'fixtures', 'checkout');
export const patternsFixture = join(guardRoot, 'fixtures', 'patterns');

const fullChecks = new Map<string, CheckResult>();

/** One full check per fixture and test file: building the type-checked program is the slow part. */
export function checkFixture(root: string): CheckResult {
  let result = fullChecks.get(root);
  if (!result) {
    result = checkRepository(root);
    fullChecks.set(root, result);
  }
  return result;
}

/** Runs the real bin (node + tsx), the way `npx orderly-guard` does. */
export function runGuard(
  args: string[],
  cwd = guardRoot,
): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(
    process.execPath,
    [join(guardRoot, 'bin', 'orderly-guard.mjs'), ...args],
    {
      cwd,
      encoding: 'utf8',
    },
  );
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs the CLI in this process: same code path as the bin minus the tsx start-up, which is slow on a busy machine. */
export function runCli(args: string[]): { status: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stdout += String(chunk);
    return true;
  });
  const err = vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    stderr += String(chunk);
    return true;
  });
  try {
    const status = main(args);
    return { status, stdout, stderr };
  } finally {
    out.mockRestore();
    err.mockRestore();
  }
}

/** Runs git in a scratch repository a test made. */
export function gitIn(repo: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: repo, encoding: 'utf8' }).trim();
}

/** Stages and commits everything in a scratch repository, as a fixed test author. */
export function commitAllIn(repo: string, message: string): void {
  gitIn(repo, 'add', '-A');
  gitIn(
    repo,
    '-c',
    'user.name=guard',
    '-c',
    'user.email=guard@example.invalid',
    'commit',
    '-q',
    '-m',
    message,
  );
}
