import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfigDocument } from '@orderly/platform';
import { describe, expect, test } from 'vitest';
import { checkSagaTimeouts } from '../src/config.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));

describe('checkSagaTimeouts', () => {
  test('when config/default.yaml is used as it is, then the timeouts are consistent', () => {
    expect(() => checkSagaTimeouts(loadConfigDocument({ env: {} }))).not.toThrow();
  });

  test('when the reservation TTL is not above the saga timeout plus one sweep, then the error names both keys and values', () => {
    const document = loadConfigDocument({
      env: {
        ORDERLY_SERVICES__ORDER__SAGA_TIMEOUT_MS: '30000',
        ORDERLY_SERVICES__ORDER__SAGA_SWEEP_INTERVAL_MS: '1000',
        ORDERLY_SERVICES__INVENTORY__RESERVATION_TTL_MS: '20000',
      },
    });

    expect(() => checkSagaTimeouts(document)).toThrow(
      'services.inventory.reservationTtlMs: value 20000 is invalid: must be greater than ' +
        'services.order.sagaTimeoutMs (30000) + services.order.sagaSweepIntervalMs (1000) = 31000',
    );
  });

  test('when the inventory service starts with a TTL below the saga timeout, then it exits non-zero naming both keys', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'services/inventory/src/main.ts'],
      {
        cwd: repoRoot,
        env: {
          ...process.env,
          ORDERLY_SERVICES__ORDER__SAGA_TIMEOUT_MS: '30000',
          ORDERLY_SERVICES__INVENTORY__RESERVATION_TTL_MS: '10000',
        },
        encoding: 'utf8',
        timeout: 30_000,
      },
    );

    expect(result.status).toBe(1);
    expect(result.stderr).toContain('services.inventory.reservationTtlMs: value 10000 is invalid');
    expect(result.stderr).toContain('services.order.sagaTimeoutMs (30000)');
  });
});
