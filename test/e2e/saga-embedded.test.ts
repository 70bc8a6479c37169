import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { LogLineCollector } from '@orderly/platform/testing';
import { checkInvariants, type E2eRun, type SqlRunner } from './invariants.js';
import { createCatalogAsAdmin, placeOrderMix } from './order-mix.js';
import { e2eSecurityEnv, freePort, services, type Service } from './system-harness.js';

/**
 * `npm start` as users run it: one process, embedded PostgreSQL, in-memory bus. It is killed with
 * -9 while orders are in flight and started again; nothing accepted may be lost.
 */
const repoRoot = new URL('../../', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'orderly-embedded-'));
// mkdtemp makes it 0700; as root, embedded PostgreSQL runs as the postgres user, which must enter it.
chmodSync(dataDir, 0o755);
const ports = {} as Record<Service | 'postgres', number>;
let launcher: ChildProcess | undefined;
const output: string[] = [];
const logLines = new LogLineCollector();
/** Resolves once the current launcher's stdout is read to its end. */
let outputRead: Promise<void> = Promise.resolve();
let stockAtStart: Record<string, number>;

const envKey = (name: string) => name.toUpperCase();
function env(): Record<string, string> {
  const vars: Record<string, string> = {
    ORDERLY_DATA_DIR: dataDir,
    ORDERLY_LOG_LEVEL: 'warn',
    ORDERLY_EMBEDDED__POSTGRES_PORT: String(ports.postgres),
    ORDERLY_SERVICES__GATEWAY__ORDER_SERVICE_URL: `http://127.0.0.1:${ports.order}`,
    ORDERLY_SERVICES__GATEWAY__INVENTORY_SERVICE_URL: `http://127.0.0.1:${ports.inventory}`,
    ORDERLY_BUS__RETRY_BACKOFF_MS: '[50,200,500]',
    ...e2eSecurityEnv(),
  };
  for (const s of services) vars[`ORDERLY_SERVICES__${envKey(s)}__PORT`] = String(ports[s]);
  return vars;
}

async function startLauncher(): Promise<void> {
  // node with tsx's loader rather than the tsx wrapper, so kill -9 hits the launcher itself.
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/launcher/src/embedded.ts'], {
    cwd: repoRoot,
    env: { ...process.env, ...env() },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const keep = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
  // stdout is log lines only: each one is checked against the log schema.
  const source = `launcher (pid ${child.pid})`;
  child.stdout.on('data', (chunk: Buffer) => {
    keep(chunk);
    logLines.write(source, chunk);
  });
  child.stderr.on('data', keep);
  outputRead = new Promise((resolve) =>
    child.once('close', () => {
      logLines.end(source, { cut: child.signalCode === 'SIGKILL' });
      resolve();
    }),
  );
  launcher = child;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`launcher exited ${child.exitCode}\n${output.slice(-40).join('\n')}`);
    const ready = await fetch(`http://127.0.0.1:${ports.gateway}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline)
      throw new Error(`embedded system not ready\n${output.slice(-40).join('\n')}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function killLauncher(signal: NodeJS.Signals): Promise<number | null> {
  const child = launcher;
  if (!child || child.exitCode !== null) return child?.exitCode ?? null;
  child.kill(signal);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

const sql: SqlRunner = async <Row>(service: string, text: string, values: unknown[] = []) => {
  const client = new pg.Client({
    connectionString: `postgres://postgres:orderly-embedded@127.0.0.1:${ports.postgres}/orderly_${service}`,
  });
  await client.connect();
  try {
    return (await client.query(text, values)).rows as Row[];
  } finally {
    await client.end();
  }
};

// The in-memory bus keeps its dead letters inside the launcher process; only its admin endpoint lists them.
const run: E2eRun = {
  sql,
  dataDir,
  deadLetters: {
    waived:
      'in-memory bus: dead letters live inside the launcher process (lost with its kill -9), no stream to read',
  },
};

beforeAll(async () => {
  for (const key of [...services, 'postgres'] as const) ports[key] = await freePort();
  await startLauncher();
  stockAtStart = await createCatalogAsAdmin(`http://127.0.0.1:${ports.gateway}`);
}, 180_000);

afterAll(async () => {
  await killLauncher('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('embedded mode (npm start)', () => {
  test('when orders are placed, then each ends CONFIRMED or CANCELLED and every invariant holds', async () => {
    const { accepted, rejected } = await placeOrderMix(
      `http://127.0.0.1:${ports.gateway}`,
      100,
      20,
    );
    expect(rejected, output.slice(-20).join('\n')).toEqual([]);
    const outcome = await checkInvariants(run, accepted, stockAtStart);
    expect(outcome.confirmed).toBeGreaterThan(0);
  });

  test('when the process is killed with -9 mid-flight and started again, then nothing accepted is lost and every saga finishes', async () => {
    const first = await placeOrderMix(`http://127.0.0.1:${ports.gateway}`, 60, 20);
    await killLauncher('SIGKILL');
    await startLauncher();
    const second = await placeOrderMix(`http://127.0.0.1:${ports.gateway}`, 20, 10);
    const outcome = await checkInvariants(
      run,
      [...first.accepted, ...second.accepted],
      stockAtStart,
    );
    expect(outcome.confirmed).toBeGreaterThan(0);
  });

  test('when it gets SIGTERM, then it stops gracefully with exit code 0', async () => {
    expect(await killLauncher('SIGTERM')).toBe(0);
  });

  test('when the runs are over, then every line written on stdout matches the log schema', async () => {
    await outputRead;
    expect(logLines.problems, logLines.report()).toEqual([]);
    expect([...logLines.counts.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
  });
});
