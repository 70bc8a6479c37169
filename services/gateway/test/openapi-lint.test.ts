import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, test } from 'vitest';
import { send, startTestGateway, type TestGateway } from './test-gateway.js';

/** Redocly CLI's JSON report: totals and one entry per problem. */
interface LintReport {
  totals: { errors: number; warnings: number };
  problems: { ruleId: string; severity: string; message: string }[];
}

const redoclyCli = createRequire(import.meta.url).resolve('@redocly/cli/bin/cli.js');
const repositoryRoot = new URL('../../../', import.meta.url);

let gateway: TestGateway;
let dir: string;
beforeAll(async () => {
  gateway = await startTestGateway();
  dir = mkdtempSync(join(tmpdir(), 'orderly-openapi-'));
});
afterAll(async () => {
  await gateway.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('when the served OpenAPI document is linted with Redocly recommended rules, then there are no errors and no warnings', async () => {
  // Arrange
  const response = await send(gateway.url, { path: '/openapi.json' });
  const file = join(dir, 'openapi.json');
  writeFileSync(file, response.text);

  // Act: the same CLI and rules (redocly.yaml) a contributor runs by hand, offline.
  const result = spawnSync(process.execPath, [redoclyCli, 'lint', file, '--format=json'], {
    cwd: repositoryRoot,
    encoding: 'utf8',
    env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true' },
    timeout: 60_000,
  });

  // Assert
  const report = JSON.parse(result.stdout) as LintReport;
  expect(report.problems.map((p) => `${p.severity} ${p.ruleId}: ${p.message}`)).toEqual([]);
  expect(report.totals).toEqual({ errors: 0, warnings: 0, ignored: 0 });
  expect(result.status).toBe(0);
});
