/**
 * What telemetry costs: throughput of `POST /v1/orders` on the embedded system (npm start: every
 * service in one process, embedded PostgreSQL, in-memory bus) with telemetry at the production
 * sampling ratio (config/prod.yaml) against telemetry off, in one run. Not a test: it prints figures.
 *
 *   npm run bench:telemetry -- [--duration 15] [--warmup 3] [--connections 16] [--rounds 2]
 *
 * Each round starts a fresh system per mode and loads both at the same time (each with its own
 * connections), so neither inherits the other's backlog and other work on the machine slows both
 * alike. No collector runs (exporters off): this is the cost of making spans, metrics and log
 * correlation, not of shipping them.
 *
 * Besides req/s it reports the system process's CPU time per accepted order (user + system, from
 * /proc), which is far less disturbed than throughput when other work shares the machine.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import {
  createRpcClient,
  loadConfigDocument,
  openIdentity,
  operatorWorkload,
  parseConfigSection,
  platformConfigSchema,
} from '@orderly/platform';
import { freePort } from '@orderly/platform/testing';
import { serviceNames } from '@orderly/system';

const repoRoot = new URL('../', import.meta.url).pathname;
const args = process.argv.slice(2);
const option = (name: string, fallback: number): number => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const durationSeconds = option('duration', 15);
const warmupSeconds = option('warmup', 3);
const connections = option('connections', 16);
const rounds = option('rounds', 2);
const startupBudgetMs = 120_000;
const startAttempts = 3;

const prod = parseConfigSection(
  platformConfigSchema,
  loadConfigDocument({ argv: ['--config', join(repoRoot, 'config/prod.yaml')], env: {} }).document,
);
const services = serviceNames;
const sku = 'BENCH-TELEMETRY';

/** CPU seconds (user + system) the process has used so far, from /proc (Linux, 100 ticks/s). */
const ticksPerSecond = 100;
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
}

interface System {
  readonly gateway: string;
  readonly inventory: string;
  readonly child: ChildProcess;
  readonly dataDir: string;
}

async function startSystem(telemetry: boolean): Promise<System> {
  const ports: Record<string, number> = {};
  for (const name of [...services, 'postgres']) ports[name] = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), 'orderly-bench-telemetry-'));
  const env: Record<string, string> = {
    ...process.env,
    ORDERLY_DATA_DIR: dataDir,
    ORDERLY_EMBEDDED__POSTGRES_PORT: String(ports.postgres),
    ORDERLY_TELEMETRY__ENABLED: String(telemetry),
    ORDERLY_TELEMETRY__SAMPLING_RATIO: String(prod.telemetry.samplingRatio),
    ORDERLY_TELEMETRY__OTLP_ENDPOINT: '',
    // The benchmark measures the order path, not the rate limiter: one client, one user.
    ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__PER_ADDRESS__BURST: '100000000',
    ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__PER_ADDRESS__PER_MINUTE: '100000000',
    ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__PER_USER__BURST: '100000000',
    ORDERLY_SERVICES__GATEWAY__RATE_LIMITS__PER_USER__PER_MINUTE: '100000000',
  };
  const gatewayKeys = Object.keys(prod.services.gateway as object);
  for (const name of services) {
    env[`ORDERLY_SERVICES__${name.toUpperCase()}__PORT`] = String(ports[name]);
    env[`ORDERLY_SERVICES__${name.toUpperCase()}__OPERATOR_PORT`] = '0';
    // The gateway calls the services its configuration has a URL for.
    if (gatewayKeys.includes(`${name}ServiceUrl`)) {
      env[`ORDERLY_SERVICES__GATEWAY__${name.toUpperCase()}_SERVICE_URL`] =
        `http://127.0.0.1:${ports[name]}`;
    }
  }
  const child = spawn(process.execPath, ['--import', 'tsx', 'tools/launcher/src/embedded.ts'], {
    cwd: repoRoot,
    env,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const errors: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => errors.push(String(chunk)));
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  const deadline = Date.now() + startupBudgetMs;
  const giveUp = (why: string): never => {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${why}: ${errors.join('')}`);
  };
  for (;;) {
    if (child.exitCode !== null) giveUp(`embedded system exited ${child.exitCode}`);
    if (
      await fetch(`${gateway}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) giveUp('embedded system not ready');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { gateway, inventory: `http://127.0.0.1:${ports.inventory}`, child, dataDir };
}

async function stopSystem(system: System): Promise<void> {
  const exited = new Promise((resolve) => system.child.once('exit', resolve));
  system.child.kill('SIGTERM');
  await exited;
  rmSync(system.dataDir, { recursive: true, force: true });
}

/** A product that never runs out, so every order takes the same (confirming) path. */
async function seedStock(system: System): Promise<void> {
  // As the operator, with a key beside the services' under their dataDir.
  const platform = parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({ argv: [], env: {}, overrides: { dataDir: system.dataDir } }).document,
  );
  const inventory = createRpcClient(InventoryService, {
    baseUrl: system.inventory,
    defaultTimeoutMs: 10_000,
    identity: { caller: await openIdentity(operatorWorkload, platform), audience: 'inventory' },
  });
  await inventory.upsertProduct({ sku, name: 'Bench', priceCents: 100n });
  await inventory.adjustStock({ sku, delta: 100_000_000 });
}

/** Headers that identify the customer: a bearer token when the gateway has authentication. */
async function customerHeaders(gateway: string): Promise<Record<string, string>> {
  const credentials = {
    email: `bench-${randomUUID()}@example.com`,
    password: `bench-${randomUUID()}`,
  };
  const post = (path: string) =>
    fetch(`${gateway}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(credentials),
    });
  const registered = await post('/v1/auth/register');
  if (registered.status === 404) return { 'x-customer-id': 'bench' };
  if (!registered.ok)
    throw new Error(`register failed: ${registered.status} ${await registered.text()}`);
  const login = await post('/v1/auth/login');
  if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
  const { accessToken } = (await login.json()) as { accessToken: string };
  return { authorization: `Bearer ${accessToken}` };
}

function load(
  gateway: string,
  headers: Record<string, string>,
  seconds: number,
): Promise<autocannon.Result> {
  const body = JSON.stringify({ lines: [{ sku, quantity: 1 }], paymentMethod: 'pm_card_ok' });
  return autocannon({
    url: `${gateway}/v1/orders`,
    connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (request) => ({
          ...request,
          body,
          headers: {
            ...headers,
            'content-type': 'application/json',
            'idempotency-key': randomUUID(),
          },
        }),
      },
    ],
  });
}

interface Measurement {
  readonly mode: 'off' | 'on';
  readonly requestsPerSecond: number;
  readonly p50: number;
  readonly p99: number;
  readonly non2xx: number;
  readonly cpuMsPerOrder: number;
}

async function prepare(
  mode: 'off' | 'on',
): Promise<{ mode: 'off' | 'on'; system: System; headers: Record<string, string> }> {
  let system: System | undefined;
  // A free port can be taken by someone else before the system binds it: try again on new ports.
  for (let attempt = 1; !system; attempt++) {
    try {
      system = await startSystem(mode === 'on');
    } catch (error) {
      if (attempt >= startAttempts) throw error;
      process.stderr.write(`start failed (${String(error).split('\n')[0]}), retrying\n`);
    }
  }
  await seedStock(system);
  return { mode, system, headers: await customerHeaders(system.gateway) };
}

async function measure(target: Awaited<ReturnType<typeof prepare>>): Promise<Measurement> {
  const pid = target.system.child.pid ?? 0;
  const cpuBefore = cpuSeconds(pid);
  const result = await load(target.system.gateway, target.headers, durationSeconds);
  const cpu = cpuSeconds(pid) - cpuBefore;
  const accepted = result['2xx'];
  return {
    mode: target.mode,
    cpuMsPerOrder: accepted > 0 ? (cpu * 1000) / accepted : Number.NaN,
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
  };
}

/**
 * One round: both systems run side by side and are loaded at the same time, so whatever else the
 * machine is doing slows both alike; the ratio is taken within the round.
 */
const results: Measurement[] = [];
for (let round = 1; round <= rounds; round++) {
  const targets = [await prepare('off'), await prepare('on')];
  try {
    if (warmupSeconds > 0)
      await Promise.all(targets.map((t) => load(t.system.gateway, t.headers, warmupSeconds)));
    const measured = await Promise.all(targets.map((t) => measure(t)));
    for (const m of measured) {
      results.push(m);
      process.stdout.write(
        `round ${round} telemetry ${m.mode.padEnd(3)}: ${m.requestsPerSecond.toFixed(1)} req/s, ` +
          `${m.cpuMsPerOrder.toFixed(2)} CPU ms/order, p50 ${m.p50} ms, p99 ${m.p99} ms, non-2xx ${m.non2xx}\n`,
      );
    }
  } finally {
    await Promise.all(targets.map((t) => stopSystem(t.system)));
  }
}
const mean = (mode: 'off' | 'on', of: (m: Measurement) => number) =>
  results.filter((r) => r.mode === mode).reduce((sum, r) => sum + of(r), 0) / rounds;
const off = mean('off', (m) => m.requestsPerSecond);
const on = mean('on', (m) => m.requestsPerSecond);
const cpuOff = mean('off', (m) => m.cpuMsPerOrder);
const cpuOn = mean('on', (m) => m.cpuMsPerOrder);
process.stdout.write(
  `\nPOST /v1/orders, embedded system, ${connections} connections per system, ${durationSeconds} s x ${rounds} rounds, off and on side by side\n` +
    `telemetry off: ${off.toFixed(0)} req/s\n` +
    `telemetry on (samplingRatio ${prod.telemetry.samplingRatio}, no exporter): ${on.toFixed(0)} req/s\n` +
    `throughput ratio on/off: ${(on / off).toFixed(3)}  (overhead ${((1 - on / off) * 100).toFixed(1)}%)\n` +
    `CPU per order: off ${cpuOff.toFixed(2)} ms, on ${cpuOn.toFixed(2)} ms, ratio on/off ${(cpuOn / cpuOff).toFixed(3)}\n`,
);
