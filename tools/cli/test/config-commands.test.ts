import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkConfig, printConfig } from '../src/config-commands.js';

/** `orderly config check` and `orderly config print`: configuration inspected without starting anything. */
const repoRoot = new URL('../../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'orderly-cli-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: { out: (t: string) => out.push(t), err: (t: string) => err.push(t) },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

function file(name: string, yaml: string): string {
  const path = join(dir, name);
  writeFileSync(path, yaml);
  return path;
}

describe('orderly config check', () => {
  test('when the file is valid for the platform and every service, then it says ok and exits 0', () => {
    const good = file(
      'good.yaml',
      'logLevel: warn\nservices:\n  order:\n    sagaTimeoutMs: 5000\n',
    );
    const result = capture();
    expect(checkConfig([good], result.io)).toBe(0);
    expect(result.out()).toMatch(/good\.yaml: ok/);
  });

  test('when values break rules, then every problem is listed with key, value and rule and it exits non-zero', () => {
    const bad = file(
      'bad.yaml',
      'logLevel: loud\nservices:\n  order:\n    sagaTimeoutMs: -1\n  gateway:\n    orderServiceUrl: not a url\n  ordr:\n    port: 1\n',
    );
    const result = capture();
    expect(checkConfig([bad], result.io)).toBe(1);
    const errors = result.err();
    expect(errors).toMatch(/logLevel: value "loud" is invalid/);
    expect(errors).toMatch(/services\.order\.sagaTimeoutMs: value -1 is invalid/);
    expect(errors).toMatch(/services\.gateway\.orderServiceUrl: value "not a url" is invalid/);
    expect(errors).toMatch(/services\.ordr: unknown service/);
  });

  test('when the reservation TTL is not above the saga timeout plus one sweep, then the rule across services is reported', () => {
    const bad = file(
      'ttl.yaml',
      'services:\n  order:\n    sagaTimeoutMs: 60000\n  inventory:\n    reservationTtlMs: 30000\n',
    );
    const result = capture();
    expect(checkConfig([bad], result.io)).toBe(1);
    expect(result.err()).toContain(
      'services.inventory.reservationTtlMs: value 30000 is invalid: must be greater than services.order.sagaTimeoutMs (60000) + services.order.sagaSweepIntervalMs (1000) = 61000',
    );
  });

  test('when run as a command on a broken file, then the process exits 1 naming the file', () => {
    const broken = file('broken.yaml', 'services: [unclosed\n');
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'tools/cli/src/main.ts', 'config', 'check', broken],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        timeout: 60_000,
      },
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('broken.yaml');
    expect(result.stderr).toMatch(/not valid YAML/);
  });
});

describe('orderly config print', () => {
  test('when printed, then each value shows its source (default, file, env, flag), whether it reloads, and secrets are redacted', () => {
    const prod = file('prod.yaml', 'logLevel: warn\nservices:\n  order:\n    port: 9081\n');
    const result = capture();
    const code = printConfig(
      [
        '--service',
        'order',
        '--config',
        prod,
        '--set',
        'services.order.sagaTimeoutMs=4000',
        '--json',
      ],
      {
        ORDERLY_POSTGRES__URL: 'postgres://orderly:hunter2@db:5432/postgres',
        ORDERLY_SERVICES__ORDER__LIST_LIMIT_MAX: '20',
      },
      result.io,
    );
    expect(code).toBe(0);
    const { entries } = JSON.parse(result.out()) as {
      entries: { key: string; value: unknown; source: string; reload: string }[];
    };
    const byKey = new Map(entries.map((e) => [e.key, e]));
    expect(byKey.get('postgres.poolSize')).toMatchObject({ source: 'default', reload: 'restart' });
    expect(byKey.get('logLevel')).toMatchObject({
      value: 'warn',
      source: 'file',
      reload: 'reloadable',
    });
    expect(byKey.get('services.order.port')).toMatchObject({
      value: 9081,
      source: 'file',
      reload: 'restart',
    });
    expect(byKey.get('services.order.listLimitMax')).toMatchObject({ value: 20, source: 'env' });
    expect(byKey.get('services.order.sagaTimeoutMs')).toMatchObject({
      value: 4000,
      source: 'flag',
      reload: 'reloadable',
    });
    expect(byKey.get('postgres.url')?.value).toBe('postgres://orderly:[redacted]@db:5432/postgres');
    expect(byKey.get('embedded.postgresPassword')?.value).toBe('[redacted]');
    expect(result.out()).not.toContain('hunter2');
    expect([...byKey.keys()].some((k) => k.startsWith('services.gateway'))).toBe(false);
  });

  test('when the service is unknown, then it says which services exist', () => {
    const result = capture();
    expect(printConfig(['--service', 'nope'], {}, result.io)).toBe(2);
    expect(result.err()).toMatch(/order/);
  });
});
