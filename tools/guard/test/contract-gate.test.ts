import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import { commitAllIn, contractsFixture, gitIn, runCli, runGuard } from './guard-runner.ts';

const alphaProto = 'services/alpha/proto/alpha/v1/alpha_service.proto';
let repo: string;

const git = (...args: string[]): string => gitIn(repo, ...args);
const commitAll = (message: string): void => commitAllIn(repo, message);

function editAlpha(from: string, to: string): void {
  const path = join(repo, alphaProto);
  const text = readFileSync(path, 'utf8');
  expect(text).toContain(from);
  writeFileSync(path, text.replace(from, to));
}

beforeEach(() => {
  repo = mkdtempSync(join(tmpdir(), 'guard-contracts-'));
  cpSync(contractsFixture, repo, { recursive: true });
  git('init', '-q', '-b', 'main');
  commitAll('contracts v1');
});

describe('orderly-guard contracts', { timeout: 60_000 }, () => {
  test('when the repository has a single commit, then there is no base to compare and the gate passes', () => {
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).toContain('no base to compare');
    expect(status).toBe(0);
  });

  test('when a committed change breaks a field type, then the gate fails and names the service and its consumers', () => {
    editAlpha('int64 count = 2;', 'string count = 2;');
    commitAll('change count type');
    const { status, stdout } = runGuard(['contracts', repo]);
    expect(status).toBe(1);
    expect(stdout).toContain(`${alphaProto}:19:3  buf-breaking  FIELD_SAME_TYPE`);
    expect(stdout).toContain('consumers of alpha would break: beta, gamma');
    expect(stdout).toContain('new package version');
  });

  test('when an uncommitted change deletes a field, then the gate compares the working tree with HEAD~1 and fails', () => {
    writeFileSync(join(repo, 'README.md'), 'second commit\n');
    commitAll('docs');
    editAlpha('  int64 count = 2;\n', '');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(status).toBe(1);
    expect(stdout).toContain('FIELD_NO_DELETE');
  });

  test('when the change only adds a field, then the gate passes', () => {
    editAlpha('int64 count = 2;', 'int64 count = 2;\n  string label = 3;');
    commitAll('add label');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).toContain('no breaking changes against');
    expect(status).toBe(0);
  });

  test('when main has moved on, then a feature branch is compared with its merge base, and --against overrides it', () => {
    const base = git('rev-parse', 'HEAD');
    git('checkout', '-q', '-b', 'feature');
    editAlpha('int64 count = 2;', 'string count = 2;');
    commitAll('break on feature');
    const merged = runCli(['contracts', repo]);
    expect(merged.status).toBe(1);
    expect(merged.stdout).toContain(`compared with ${base.slice(0, 12)} (merge base with main)`);
    const explicit = runCli(['contracts', repo, '--against', 'HEAD']);
    expect(explicit.status).toBe(0);
  });

  test('when the base commit has no proto files yet, then there is no base to compare and the gate passes', () => {
    repo = mkdtempSync(join(tmpdir(), 'guard-contracts-empty-'));
    git('init', '-q', '-b', 'main');
    writeFileSync(join(repo, 'README.md'), 'empty\n');
    commitAll('empty');
    cpSync(contractsFixture, repo, { recursive: true });
    commitAll('add contracts');
    const { status, stdout } = runCli(['contracts', repo]);
    expect(stdout).toContain('no base to compare');
    expect(status).toBe(0);
  });

  test('when --against names a ref that does not exist, then the gate exits 2', () => {
    expect(runCli(['contracts', repo, '--against', 'no-such-ref']).status).toBe(2);
  });
});
