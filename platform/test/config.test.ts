import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { z } from 'zod';
import {
  ConfigError,
  loadConfigDocument,
  parseConfigSection,
  parseServiceConfig,
} from '../src/index.js';
import { environmentLayer } from '../src/config/index.js';

const repoRoot = new URL('../../', import.meta.url).pathname;

describe('configuration', () => {
  test('when an ORDERLY_ variable is set, then it overrides the file, with nested keys and lists', () => {
    expect(
      environmentLayer({
        ORDERLY_SERVICES__ORDER__SAGA_TIMEOUT_MS: '5000',
        ORDERLY_BUS__RETRY_BACKOFF_MS: '[100,500]',
        ORDERLY_CONFIG: 'ignored.yaml',
        OTHER: 'x',
      }),
    ).toEqual({
      services: { order: { sagaTimeoutMs: '5000' } },
      bus: { retryBackoffMs: [100, 500] },
    });
  });

  test('when a --config file is given, then it layers over the defaults and the environment over both', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orderly-config-'));
    const file = join(dir, 'custom.yaml');
    writeFileSync(
      file,
      'logLevel: debug\nservices:\n  order:\n    sagaTimeoutMs: 1234\n    port: 9000\n',
    );
    const document = loadConfigDocument({
      argv: ['--config', file],
      env: { ORDERLY_SERVICES__ORDER__PORT: '9001' },
    });
    const schema = z
      .object({ port: z.coerce.number(), sagaTimeoutMs: z.coerce.number() })
      .passthrough();
    const config = parseServiceConfig(document, 'order', schema);
    expect(config.platform.logLevel).toBe('debug');
    expect(config.service).toMatchObject({ port: 9001, sagaTimeoutMs: 1234 });
    expect(config.platform.postgres.poolSize).toBeGreaterThan(0); // from config/default.yaml
  });

  test('when a value breaks a rule, then the error names the key, the value and the rule', () => {
    const schema = z.object({ port: z.coerce.number().int().max(65535) });
    const error = (() => {
      try {
        parseConfigSection(schema, { services: { order: { port: 70000 } } }, ['services', 'order']);
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).message).toMatch(
      /services\.order\.port: value 70000 is invalid: .*65535/,
    );
  });

  test('when a whole section or a secret is invalid, then the error names them without printing any secret', () => {
    const schema = z.strictObject({
      identity: z.strictObject({ adminPassword: z.string().min(12) }),
      gateway: z.strictObject({ port: z.number() }),
    });
    const document = {
      identity: { adminPassword: 'hunter2' },
      gateway: { port: 1, typo: 'x' },
      stray: { apiToken: 'sk-live-123' },
    };
    const message = (() => {
      try {
        parseConfigSection(schema, document);
      } catch (e) {
        return (e as ConfigError).message;
      }
      return '';
    })();
    expect(message).toMatch(/identity\.adminPassword: value \(redacted\) is invalid/);
    expect(message).not.toContain('hunter2');
    expect(message).not.toContain('sk-live-123');
  });

  test('when a service starts with an invalid value, then it exits non-zero naming the key and value', () => {
    const result = spawnSync(process.execPath, ['--import', 'tsx', 'services/order/src/main.ts'], {
      cwd: repoRoot,
      env: { ...process.env, ORDERLY_SERVICES__ORDER__PORT: 'not-a-port' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('services.order.port');
    expect(result.stderr).toContain('"not-a-port"');
  });
});
