import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { badFixture, goodFixture, runCli, runGuard } from './guard-runner.ts';

describe('orderly-guard CLI', { timeout: 60_000 }, () => {
  test('when findings at the threshold exist, then check exits 1 and prints file:line:column rule explanation → fix', () => {
    const { status, stdout } = runGuard(['check', badFixture]);
    expect(status).toBe(1);
    expect(stdout).toMatch(
      /^services\/a\/src\/domain\/shared-order\.ts:2:15 {2}no-shared-domain {2}service a imports b's source .+ {2}→ .+$/m,
    );
    expect(stdout).toContain('orderly-guard: 47 findings');
  });

  test('when the repository is clean, then check exits 0', () => {
    const { status, stdout } = runCli(['check', goodFixture]);
    expect(status).toBe(0);
    expect(stdout.trim()).toBe('orderly-guard: no findings');
  });

  test('when --format json is given, then stdout is JSON with the findings', () => {
    const { status, stdout } = runCli(['check', badFixture, '--format', 'json']);
    expect(status).toBe(1);
    const report = JSON.parse(stdout) as { findings: { rule: string; severity: string }[] };
    expect(report.findings).toHaveLength(47);
    expect(report.findings.every((finding) => finding.severity === 'error')).toBe(true);
  });

  test('when --format sarif is given, then stdout is a SARIF 2.1.0 log', () => {
    const { stdout } = runCli(['check', badFixture, '--format', 'sarif']);
    expect(JSON.parse(stdout)).toMatchObject({
      version: '2.1.0',
      runs: [{ tool: { driver: { name: 'orderly-guard' } } }],
    });
  });

  test('when every rule is lowered below the threshold, then findings are shown but check exits 0', () => {
    const config = join(mkdtempSync(join(tmpdir(), 'guard-config-')), 'orderly-guard.config.json');
    const rules = [
      'no-shared-domain',
      'no-sync-call-chain',
      'no-hardcoded-config',
      'no-scattered-telemetry',
      'no-dependency-hijack',
      'layering',
      'no-retry-storm',
      'no-shared-database',
      'no-gateway-bypass',
      'no-domain-type-drift',
      'no-leak-prone-code',
    ];
    writeFileSync(
      config,
      JSON.stringify({
        compositionRoots: ['tools/launcher/**'],
        include: ['tools/launcher'],
        dependencies: { criticalPackages: ['zod'], exceptions: [] },
        severity: {
          threshold: 'error',
          rules: Object.fromEntries(rules.map((rule) => [rule, 'warning'])),
        },
      }),
    );
    const { status, stdout } = runCli(['check', badFixture, '--config', config]);
    expect(status).toBe(0);
    expect(stdout).toContain('warning no-shared-domain');
  });

  test('when a rule is turned off, then it reports nothing', () => {
    const config = join(mkdtempSync(join(tmpdir(), 'guard-config-')), 'orderly-guard.config.json');
    writeFileSync(
      config,
      JSON.stringify({ severity: { rules: { 'no-hardcoded-config': 'off' } } }),
    );
    const { stdout } = runCli(['check', badFixture, '--config', config, '--format', 'json']);
    const report = JSON.parse(stdout) as { findings: { rule: string }[] };
    expect(report.findings.some((finding) => finding.rule === 'no-hardcoded-config')).toBe(false);
  });

  test('when a duplicate is accepted for one lockfile path with a reason, then only that copy is excused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guard-config-'));
    const config = (path: string) =>
      JSON.stringify({
        dependencies: {
          criticalPackages: ['zod'],
          exceptions: [
            { package: 'zod', kind: 'duplicate', path, reason: 'b migrates to zod 4 next sprint' },
          ],
        },
      });
    writeFileSync(join(dir, 'matching.json'), config('services/b/node_modules/zod'));
    writeFileSync(join(dir, 'other.json'), config('services/c/node_modules/zod'));
    const lockFindings = (file: string) => {
      const { stdout } = runCli([
        'check',
        badFixture,
        '--config',
        join(dir, file),
        '--rule',
        'no-dependency-hijack',
        '--format',
        'json',
      ]);
      return (JSON.parse(stdout) as { findings: { file: string }[] }).findings.filter(
        (finding) => finding.file === 'package-lock.json',
      );
    };
    expect(lockFindings('matching.json')).toHaveLength(0);
    expect(lockFindings('other.json')).toHaveLength(1);
  });

  test('when the config has a typo or an exception without a reason, then the CLI exits 2 and names the key', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guard-config-'));
    writeFileSync(join(dir, 'typo.json'), JSON.stringify({ serviceRoot: ['services/*'] }));
    writeFileSync(
      join(dir, 'reason.json'),
      JSON.stringify({ dependencies: { exceptions: [{ package: 'zod', reason: '' }] } }),
    );
    const typo = runCli(['check', goodFixture, '--config', join(dir, 'typo.json')]);
    expect(typo.status).toBe(2);
    expect(typo.stderr).toContain('unknown key "serviceRoot"');
    const reason = runCli(['check', goodFixture, '--config', join(dir, 'reason.json')]);
    expect(reason.status).toBe(2);
    expect(reason.stderr).toContain('needs a non-empty "reason"');
  });

  test('when a suppression has a reason, then its finding leaves the report; without a reason the config is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'guard-config-'));
    const suppression = {
      rule: 'no-leak-prone-code',
      file: 'services/a/src/main.ts',
      contains: 'setInterval',
    };
    writeFileSync(
      join(dir, 'with.json'),
      JSON.stringify({ suppressions: [{ ...suppression, reason: 'removed in the next release' }] }),
    );
    writeFileSync(join(dir, 'without.json'), JSON.stringify({ suppressions: [suppression] }));
    const leaks = (file: string) => {
      const { stdout } = runCli([
        'check',
        badFixture,
        '--config',
        join(dir, file),
        '--rule',
        'no-leak-prone-code',
        '--format',
        'json',
      ]);
      return (JSON.parse(stdout) as { findings: unknown[] }).findings;
    };
    expect(leaks('with.json')).toHaveLength(0);
    const refused = runCli(['check', badFixture, '--config', join(dir, 'without.json')]);
    expect(refused.status).toBe(2);
    expect(refused.stderr).toContain('needs a non-empty "reason"');
  });

  test('when the command or format is unknown, then the CLI exits 2', () => {
    expect(runCli(['lint']).status).toBe(2);
    expect(runCli(['check', goodFixture, '--format', 'xml']).status).toBe(2);
  });
});
