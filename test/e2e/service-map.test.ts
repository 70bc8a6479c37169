import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  MemoryBus,
  createLogger,
  loadConfigDocument,
  type ServiceRuntime,
} from '@orderly/platform';
import { dropTestDatabase, eventually, uniqueName } from '@orderly/platform/testing';
import {
  buildAllServices,
  hasDatabase,
  serviceNames,
  startAll,
  stopAll,
  type ServiceName,
} from '@orderly/system';
import { freePort, postgresUrl } from './system-harness.js';

/**
 * The service map of a real run: the whole system in this process (in-memory bus, real
 * PostgreSQL) with `telemetry.spanFile` on; a few orders go through the gateway; once the system
 * stopped (spans flushed), `orderly map` on that file must show the edges the saga takes with their
 * counts, the order's critical path, and `orderly-guard traces` must find no synchronous chain.
 */
const repoRoot = new URL('../../', import.meta.url).pathname;
const dataDir = mkdtempSync(join(tmpdir(), 'orderly-service-map-'));
const spanFile = join(dataDir, 'spans.jsonl');
const databases: Partial<Record<ServiceName, string>> = {};
const bus = new MemoryBus();
const urls = new Map<ServiceName, string>();
let runtimes: Map<ServiceName, ServiceRuntime> | undefined;
const placed: { orderId: string; status: string }[] = [];

beforeAll(async () => {
  const ports: Record<string, number> = {};
  for (const name of serviceNames) ports[name] = await freePort();
  const services: Record<string, Record<string, unknown>> = {};
  for (const name of serviceNames) {
    services[name] = { port: ports[name], operatorPort: 0 };
    if (hasDatabase(name)) {
      databases[name] = uniqueName(`orderly_test_map_${name}`);
      services[name].database = databases[name];
    }
  }
  const gatewayDefaults = (
    loadConfigDocument({ argv: [], env: {} }).document as { services: { gateway: object } }
  ).services.gateway;
  for (const name of serviceNames) {
    const key = `${name}ServiceUrl`;
    if (key in gatewayDefaults) services.gateway![key] = `http://127.0.0.1:${ports[name]}`;
  }
  const document = loadConfigDocument({
    argv: [],
    env: {},
    overrides: {
      logLevel: 'warn',
      dataDir,
      postgres: { url: postgresUrl },
      bus: { kind: 'memory', retryBackoffMs: [20, 50, 100] },
      telemetry: { samplingRatio: 1, otlpEndpoint: '', spanFile },
      services,
    },
  });
  runtimes = await buildAllServices(document, {
    bus,
    log: (service) => createLogger({ service, level: 'warn' }),
  });
  for (const [name, url] of await startAll(runtimes)) urls.set(name, url);

  const gateway = urls.get('gateway')!;
  const credentials = { email: `map-${randomUUID()}@example.com`, password: randomUUID() };
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${gateway}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  expect((await post('/v1/auth/register', credentials)).status).toBe(201);
  const { accessToken } = (await (await post('/v1/auth/login', credentials)).json()) as {
    accessToken: string;
  };
  const authorization = `Bearer ${accessToken}`;
  for (const paymentMethod of ['pm_card_ok', 'pm_card_ok', 'pm_card_ok', 'pm_card_declined']) {
    const response = await post(
      '/v1/orders',
      { lines: [{ sku: 'SKU-COFFEE', quantity: 1 }], paymentMethod },
      { authorization, 'idempotency-key': randomUUID() },
    );
    expect(response.status).toBe(202);
    const { orderId } = (await response.json()) as { orderId: string };
    const status = await eventually(
      async () => {
        const answer = await fetch(`${gateway}/v1/orders/${orderId}`, {
          headers: { authorization },
        });
        const { status } = (await answer.json()) as { status: string };
        expect(['CONFIRMED', 'CANCELLED']).toContain(status);
        return status;
      },
      { timeoutMs: 20_000 },
    );
    placed.push({ orderId, status });
  }
  // Stopping flushes every service's span processor into the file.
  await stopAll(runtimes);
  runtimes = undefined;
}, 180_000);

afterAll(async () => {
  if (runtimes) await stopAll(runtimes);
  await bus.close();
  for (const database of Object.values(databases)) await dropTestDatabase(postgresUrl, database);
  rmSync(dataDir, { recursive: true, force: true });
});

function run(entryPoint: string, args: readonly string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', entryPoint, ...args], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The table row of an edge: `[*] from → to  KIND  calls  …`. */
function edgeRow(output: string, edge: string, kind: string): { calls: number; line: string } {
  const escaped = edge.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const line = output
    .split('\n')
    .find((l) => new RegExp(`^\\*?\\s+${escaped}\\s+${kind}\\s`).test(l));
  expect(line, `no ${kind} edge ${edge} in\n${output}`).toBeDefined();
  const calls = Number(new RegExp(`${kind}\\s+(\\d+)`).exec(line!)?.[1]);
  return { calls, line: line! };
}

describe('service map of a real run', () => {
  test('when orders went through the system with the span file on, then orderly map shows the RPC, message and SQL edges with their counts and the critical path', () => {
    expect(existsSync(spanFile)).toBe(true);
    const confirmed = placed.filter((o) => o.status === 'CONFIRMED');
    const [first] = confirmed;
    expect(confirmed.length).toBe(3);

    const result = run('tools/cli/src/main.ts', [
      'map',
      '--spans',
      spanFile,
      '--order',
      first!.orderId,
    ]);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;

    expect(edgeRow(out, 'client → gateway', 'HTTP').line).toBeDefined();
    expect(out).toMatch(/^\s+POST \/v1\/orders\s+4\s/m);
    expect(edgeRow(out, 'gateway → order', 'RPC').calls).toBeGreaterThanOrEqual(4);
    expect(out).toMatch(/^\s+order\.v1\.OrderService\/PlaceOrder\s+4\s/m);
    // The saga: order → inventory (OrderPlaced), inventory → order (StockReserved/Rejected), …
    expect(edgeRow(out, 'order → [events.order.v1.OrderPlaced]', 'publish').calls).toBe(4);
    expect(edgeRow(out, '[events.order.v1.OrderPlaced] → inventory', 'consume').calls).toBe(4);
    expect(edgeRow(out, 'inventory → [events.inventory.v1.StockReserved]', 'publish').calls).toBe(
      4,
    );
    // …order → risk (RiskAssessmentRequested), risk → order (RiskAssessed), and only then payment.
    expect(edgeRow(out, '[events.order.v1.RiskAssessmentRequested] → risk', 'consume').calls).toBe(
      4,
    );
    expect(edgeRow(out, 'risk → [events.risk.v1.RiskAssessed]', 'publish').calls).toBe(4);
    expect(edgeRow(out, '[events.risk.v1.RiskAssessed] → order', 'consume').calls).toBe(4);
    expect(edgeRow(out, '[events.order.v1.PaymentRequested] → payment', 'consume').calls).toBe(4);
    expect(edgeRow(out, 'payment → [events.payment.v1.PaymentSucceeded]', 'publish').calls).toBe(3);
    expect(edgeRow(out, 'payment → [events.payment.v1.PaymentFailed]', 'publish').calls).toBe(1);
    expect(edgeRow(out, '[events.order.v1.OrderConfirmed] → notification', 'consume').calls).toBe(
      3,
    );
    // Statements appear in the traces, against each service's own database.
    expect(edgeRow(out, `order → postgresql ${databases.order!}`, 'SQL').calls).toBeGreaterThan(0);
    expect(out).toMatch(/^\s+INSERT orders\s+\d+/m);

    expect(out).toContain(`Critical path of order ${first!.orderId}`);
    expect(out).toMatch(
      /notification\s+process events\.order\.v1\.OrderConfirmed|inventory\s+process events\.order\.v1\.OrderConfirmed/,
    );
    // The edges the order's path took are marked.
    expect(edgeRow(out, '[events.order.v1.OrderPlaced] → inventory', 'consume').line).toMatch(
      /^\*/,
    );

    const mermaid = run('tools/cli/src/main.ts', [
      'map',
      '--spans',
      spanFile,
      '--order',
      first!.orderId,
      '--format',
      'mermaid',
    ]);
    expect(mermaid.code, mermaid.stderr).toBe(0);
    expect(mermaid.stdout).toMatch(/^flowchart LR\n/);
    expect(mermaid.stdout).toMatch(/linkStyle [\d,]+ stroke:#d62728/);
    expect(mermaid.stdout).toContain('"events.order.v1.OrderPlaced"');
  });

  test('when orderly map is asked about an order no span names, then it exits 1 and says so', () => {
    const result = run('tools/cli/src/main.ts', [
      'map',
      '--spans',
      spanFile,
      '--order',
      randomUUID(),
    ]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no span names order');
  });

  test("when orderly-guard reads the run's spans, then the only request waiting on two synchronous calls in sequence is the first order's key-set fetch", () => {
    expect(readFileSync(spanFile, 'utf8').length).toBeGreaterThan(0);
    // The gateway fetches identity's key set (GetJwks) on the first authenticated request, then
    // calls order: a real chain, once per gateway start. Every chain found must be that one.
    const plain = run('tools/guard/bin/orderly-guard.mjs', [
      'traces',
      spanFile,
      '--format',
      'json',
    ]);
    expect([0, 1], plain.stderr).toContain(plain.code);
    const report = JSON.parse(plain.stdout) as {
      handlers: number;
      chains: { service: string; request: string; calls: { operation: string }[] }[];
    };
    expect(report.handlers).toBeGreaterThan(0);
    for (const chain of report.chains) {
      expect(chain).toMatchObject({ service: 'gateway', request: 'POST /v1/orders' });
      expect(chain.calls.map((c) => c.operation)).toEqual([
        'identity.v1.IdentityService/GetJwks',
        'order.v1.OrderService/PlaceOrder',
      ]);
    }
    const ignoringKeys = run('tools/guard/bin/orderly-guard.mjs', [
      'traces',
      spanFile,
      '--ignore',
      'identity.v1.IdentityService/GetJwks',
    ]);
    expect(ignoringKeys.code, ignoringKeys.stdout).toBe(0);
    expect(ignoringKeys.stdout).toMatch(/no synchronous call chain/);
  });
});
