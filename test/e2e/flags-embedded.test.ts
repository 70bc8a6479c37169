import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { randomUUID } from 'node:crypto';
import { OrderService } from '@orderly/order-contract/order_service';
import { createRpcClient } from '@orderly/platform';
import {
  eventually,
  LogLineCollector,
  testCaller,
  testWorkloadKeysDir,
} from '@orderly/platform/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createCatalog, plenty } from './order-mix.js';
import { freePort, services, type Service } from './system-harness.js';

/**
 * The operator's scenario with `npm start`: the running system follows edits of its flags file and
 * its configuration file, without a restart. The launcher is pointed at temporary copies of both.
 * Orders are placed through the order service's RPC (what the gateway calls), so the scenario does
 * not depend on how the public API authenticates.
 */
const repoRoot = new URL('../../', import.meta.url).pathname;
const dir = mkdtempSync(join(tmpdir(), 'orderly-flags-e2e-'));
// Its own temporary directory, like saga-embedded: PostgreSQL's user must be able to reach it.
const dataDir = mkdtempSync(join(tmpdir(), 'orderly-flags-e2e-data-'));
const flagsFile = join(dir, 'flags.json');
const configFile = join(dir, 'orderly.yaml');
copyFileSync(join(repoRoot, 'flags/flags.json'), flagsFile);
const configYaml = (listLimitMax: number) =>
  `# operator overrides for this run\nservices:\n  order:\n    listLimitMax: ${listLimitMax}\n`;
writeFileSync(configFile, configYaml(50));

const ports = {} as Record<Service | 'postgres', number>;
let launcher: ChildProcess | undefined;
const output: string[] = [];
const logLines = new LogLineCollector();
const gateway = () => `http://127.0.0.1:${ports.gateway}`;
// The test calls the order service as the gateway would (its key in the tests' key folder, which the launcher is given).
const orders = async () =>
  createRpcClient(OrderService, {
    baseUrl: `http://127.0.0.1:${ports.order}`,
    defaultTimeoutMs: 10_000,
    identity: await testCaller('gateway', 'order'),
  });
const customerId = 'flags-e2e';

function setFlag(key: string, defaultVariant: string): void {
  const definitions = JSON.parse(readFileSync(flagsFile, 'utf8')) as {
    flags: Record<string, { defaultVariant: string }>;
  };
  const flag = definitions.flags[key];
  if (!flag) throw new Error(`no flag ${key} in ${flagsFile}`);
  flag.defaultVariant = defaultVariant;
  writeFileSync(flagsFile, `${JSON.stringify(definitions, null, 2)}\n`);
}

async function orderOutcome(orderId: string): Promise<{ status: string; reason: string | null }> {
  const client = new pg.Client({
    connectionString: `postgres://postgres:orderly-embedded@127.0.0.1:${ports.postgres}/orderly_order`,
  });
  await client.connect();
  try {
    const { rows } = await client.query<{ status: string; cancellation_reason: string | null }>(
      'SELECT status, cancellation_reason FROM orders WHERE id = $1',
      [orderId],
    );
    return { status: rows[0]?.status ?? 'MISSING', reason: rows[0]?.cancellation_reason ?? null };
  } finally {
    await client.end();
  }
}

/** Places one order and waits for its saga to end. */
async function placeAndFinish(): Promise<{ status: string; reason: string | null }> {
  const { order } = await (
    await orders()
  ).placeOrder({
    customerId,
    idempotencyKey: randomUUID(),
    lines: [{ sku: plenty.sku, quantity: 1 }],
    paymentMethod: 'pm_card_ok',
  });
  return eventually(
    async () => {
      const outcome = await orderOutcome(order?.orderId ?? '');
      expect(['CONFIRMED', 'CANCELLED']).toContain(outcome.status);
      return outcome;
    },
    { timeoutMs: 20_000 },
  );
}

beforeAll(async () => {
  for (const key of [...services, 'postgres'] as const) ports[key] = await freePort();
  const env: Record<string, string> = {
    ORDERLY_DATA_DIR: dataDir,
    ORDERLY_LOG_LEVEL: 'warn',
    ORDERLY_FLAGS__FILE: flagsFile,
    ORDERLY_EMBEDDED__POSTGRES_PORT: String(ports.postgres),
    ORDERLY_SERVICES__GATEWAY__ORDER_SERVICE_URL: `http://127.0.0.1:${ports.order}`,
    ORDERLY_SERVICES__GATEWAY__INVENTORY_SERVICE_URL: `http://127.0.0.1:${ports.inventory}`,
  };
  for (const s of services) env[`ORDERLY_SERVICES__${s.toUpperCase()}__PORT`] = String(ports[s]);
  for (const s of services) env[`ORDERLY_SERVICES__${s.toUpperCase()}__OPERATOR_PORT`] = '0';
  env.ORDERLY_WORKLOAD_IDENTITY__KEYS_DIR = testWorkloadKeysDir;
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tools/launcher/src/embedded.ts', '--config', configFile],
    {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const keep = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
  // stdout is log lines only: each one is checked against the log schema.
  child.stdout.on('data', (chunk: Buffer) => {
    keep(chunk);
    logLines.write('launcher', chunk);
  });
  child.stderr.on('data', keep);
  launcher = child;
  await eventually(
    async () => {
      if (child.exitCode !== null)
        throw new Error(`launcher exited ${child.exitCode}\n${output.slice(-40).join('\n')}`);
      expect((await fetch(`${gateway()}/readyz`)).ok).toBe(true);
    },
    { timeoutMs: 120_000, intervalMs: 200 },
  );
  await createCatalog(
    `http://127.0.0.1:${ports.inventory}`,
    await testCaller('operator', 'inventory'),
  );
}, 180_000);

afterAll(async () => {
  const child = launcher;
  if (child && child.exitCode === null) {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  }
  rmSync(dir, { recursive: true, force: true });
  rmSync(dataDir, { recursive: true, force: true });
});

describe('npm start follows its flags and configuration files', () => {
  test('when payment-provider-outage is switched on in flags.json, then new orders cancel with PAYMENT_DECLINED within seconds; off, they confirm again', async () => {
    expect(await placeAndFinish()).toEqual({ status: 'CONFIRMED', reason: null });

    setFlag('payment-provider-outage', 'on');
    const editedAt = Date.now();
    await eventually(
      async () =>
        expect(await placeAndFinish()).toEqual({ status: 'CANCELLED', reason: 'PAYMENT_DECLINED' }),
      {
        timeoutMs: 30_000,
      },
    );
    const outageAfterMs = Date.now() - editedAt;

    setFlag('payment-provider-outage', 'off');
    const restoredAt = Date.now();
    await eventually(
      async () => expect(await placeAndFinish()).toEqual({ status: 'CONFIRMED', reason: null }),
      {
        timeoutMs: 30_000,
      },
    );
    process.stdout.write(
      `flags e2e: outage effective ${outageAfterMs} ms after the edit, confirmations back ${Date.now() - restoredAt} ms after the revert\n`,
    );

    // Every service reports the flags version it runs.
    const sha = createHash('sha256').update(readFileSync(flagsFile)).digest('hex').slice(0, 16);
    const ready = (await (await fetch(`${gateway()}/readyz`)).json()) as {
      details: { flagsHash: string };
    };
    expect(ready.details.flagsHash).toBe(sha);
  }, 120_000);

  test('when a reloadable key is edited in the --config file, then it takes effect without a restart', async () => {
    // The first test placed several orders for this customer; the page size is services.order.listLimitMax.
    expect((await (await orders()).listOrders({ customerId })).orders.length).toBeGreaterThan(2);

    writeFileSync(configFile, configYaml(2));

    await eventually(async () =>
      expect((await (await orders()).listOrders({ customerId })).orders).toHaveLength(2),
    );
    expect(output.join('\n')).not.toMatch(/"level":"(error|fatal)"/);
    expect(logLines.problems, logLines.report()).toEqual([]);
  }, 60_000);
});
