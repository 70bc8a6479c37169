import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { eventually } from '@orderly/platform/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { freePort, natsUrl } from './system-harness.js';

/**
 * Issue 20 item 7 with real processes: two gateway processes on one NATS server share their
 * rate-limit buckets (a JetStream key-value bucket), so one client address gets the burst once
 * between them, not once per process. No service stands behind them: a request the limit lets
 * through is answered 503 (upstream unreachable), one it refuses 429, before any upstream call.
 */
const repoRoot = new URL('../../', import.meta.url).pathname;
const bucket = `E2E_RATE_LIMITS_${randomBytes(3).toString('hex')}`;
const burst = 10;
const dataDir = mkdtempSync(join(tmpdir(), 'orderly-e2e-rate-limits-'));
const gateways: ChildProcess[] = [];
const urls: string[] = [];

async function startGateway(nobody: string): Promise<string> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'services/gateway/src/main.ts')],
    {
      cwd: repoRoot,
      env: {
        ...process.env,
        ORDERLY_LOG_LEVEL: 'warn',
        ORDERLY_DATA_DIR: dataDir,
        ORDERLY_BUS__KIND: 'nats',
        ORDERLY_BUS__NATS_SERVERS: natsUrl,
        ORDERLY_SERVICES__GATEWAY__PORT: String(port),
        ORDERLY_SERVICES__GATEWAY__OPERATOR_PORT: String(await freePort()),
        ORDERLY_SERVICES__GATEWAY__ORDER_SERVICE_URL: nobody,
        ORDERLY_SERVICES__GATEWAY__INVENTORY_SERVICE_URL: nobody,
        ORDERLY_SERVICES__GATEWAY__IDENTITY_SERVICE_URL: nobody,
        ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__SHARED__BUCKET: bucket,
        // One token a minute: nothing refills during the test, exactly `burst` requests may pass.
        ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__PER_ADDRESS__BURST: String(burst),
        ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__PER_ADDRESS__PER_MINUTE: '1',
      },
      stdio: 'ignore',
    },
  );
  gateways.push(child);
  const url = `http://127.0.0.1:${port}`;
  // Alive (/healthz): not ready, since nothing stands behind it.
  await eventually(
    async () => expect((await fetch(`${url}/healthz`).catch(() => undefined))?.status).toBe(200),
    { timeoutMs: 60_000, intervalMs: 200 },
  );
  return url;
}

beforeAll(async () => {
  const nobody = `http://127.0.0.1:${await freePort()}`;
  urls.push(await startGateway(nobody), await startGateway(nobody));
}, 120_000);

afterAll(async () => {
  await Promise.all(
    gateways.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
    ),
  );
  const nc = await connect({ servers: natsUrl });
  await (await jetstreamManager(nc)).streams.delete(`KV_${bucket}`).catch(() => false);
  await nc.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('rate limits across gateway processes', () => {
  test('when one address sends 30 requests alternately to two gateway processes on one NATS, then the burst passes once in total and the rest is 429', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 30; i++) statuses.push((await fetch(`${urls[i % 2]!}/v1/products`)).status);

    expect(statuses.filter((s) => s !== 429)).toHaveLength(burst);
    expect(statuses.filter((s) => s === 429)).toHaveLength(30 - burst);
  });
});
