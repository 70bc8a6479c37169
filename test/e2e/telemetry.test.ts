import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  MemoryBus,
  busHeaders,
  createLogger,
  loadConfigDocument,
  type ServiceRuntime,
} from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  parsePrometheus,
  recordSpans,
  uniqueName,
  type RecordedSpan,
} from '@orderly/platform/testing';
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
 * The telemetry check: one order placed through the gateway of the whole system (every service in
 * this process, in-memory bus, real PostgreSQL, an in-memory span exporter) must yield ONE trace
 * with the gateway request, PlaceOrder, each outbox publish and each consumer's processing through
 * confirmation and notification, linked parent to child and labelled with `order.id`; its log lines
 * must carry that trace id; and every service's /metrics must show the figures operators rely on.
 * If a change breaks propagation anywhere on the path, this fails.
 */
const repoRoot = new URL('../../', import.meta.url).pathname;
const spans = recordSpans();
const logLines: Record<string, unknown>[] = [];
const logDir = mkdtempSync(join(tmpdir(), 'orderly-telemetry-logs-'));
const logFile = join(logDir, 'orderly.log');
const dataDir = mkdtempSync(join(tmpdir(), 'orderly-telemetry-'));
const databases: Partial<Record<ServiceName, string>> = {};
const urls = new Map<ServiceName, string>();
const bus = new MemoryBus();
let runtimes: Map<ServiceName, ServiceRuntime>;

const logSink = new Writable({
  write(chunk: Buffer, _encoding, callback) {
    for (const line of String(chunk).split('\n'))
      if (line) logLines.push(JSON.parse(line) as Record<string, unknown>);
    callback();
  },
});

beforeAll(async () => {
  const ports: Record<string, number> = {};
  for (const name of serviceNames) ports[name] = await freePort();
  const services: Record<string, Record<string, unknown>> = {};
  for (const name of serviceNames) {
    services[name] = { port: ports[name], operatorPort: 0 };
    if (hasDatabase(name)) {
      databases[name] = uniqueName(`orderly_test_telemetry_${name}`);
      services[name].database = databases[name];
    }
  }
  // The gateway calls the services its configuration has a URL for.
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
      logLevel: 'info',
      dataDir,
      postgres: { url: postgresUrl },
      bus: { kind: 'memory', retryBackoffMs: [20, 50, 100] },
      telemetry: { samplingRatio: 1, otlpEndpoint: '' },
      services,
    },
  });
  runtimes = await buildAllServices(document, {
    bus,
    log: (service) => createLogger({ service, level: 'info', destination: logSink }),
  });
  for (const [name, url] of await startAll(runtimes)) urls.set(name, url);
}, 120_000);

afterAll(async () => {
  spans.stop();
  if (runtimes) await stopAll(runtimes);
  await bus.close();
  for (const database of Object.values(databases)) await dropTestDatabase(postgresUrl, database);
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(logDir, { recursive: true, force: true });
});

function url(service: ServiceName): string {
  const found = urls.get(service);
  if (!found) throw new Error(`${service} is not running`);
  return found;
}

/** Who places orders: a bearer token when the gateway authenticates, else the customer header. */
async function customerHeaders(): Promise<Record<string, string>> {
  const credentials = {
    email: `telemetry-${randomUUID()}@example.com`,
    password: `telemetry-${randomUUID()}`,
  };
  const post = (path: string) =>
    fetch(`${url('gateway')}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(credentials),
    });
  const registered = await post('/v1/auth/register');
  if (registered.status === 404) return { 'x-customer-id': 'telemetry-check' };
  expect(registered.status, await registered.clone().text()).toBe(201);
  const login = await post('/v1/auth/login');
  expect(login.status).toBe(200);
  const { accessToken } = (await login.json()) as { accessToken: string };
  return { authorization: `Bearer ${accessToken}` };
}

async function placeOrder(headers: Record<string, string>, paymentMethod: string): Promise<string> {
  const response = await fetch(`${url('gateway')}/v1/orders`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
    body: JSON.stringify({ lines: [{ sku: 'SKU-COFFEE', quantity: 1 }], paymentMethod }),
  });
  const body = (await response.json()) as { orderId: string };
  expect(response.status, JSON.stringify(body)).toBe(202);
  return body.orderId;
}

async function orderStatus(headers: Record<string, string>, orderId: string): Promise<string> {
  const response = await fetch(`${url('gateway')}/v1/orders/${orderId}`, { headers });
  return ((await response.json()) as { status: string }).status;
}

async function scrape(service: ServiceName) {
  // /metrics is served on the operator port only.
  const response = await fetch(`${runtimes.get(service)?.operatorUrl ?? ''}/metrics`);
  expect(response.status).toBe(200);
  return parsePrometheus(await response.text());
}

function sample(
  samples: ReturnType<typeof parsePrometheus>,
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  const found = samples.filter(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  );
  return found.length === 0 ? undefined : found.reduce((sum, s) => sum + s.value, 0);
}

const serviceOf = (span: RecordedSpan) => span.resource.attributes['service.name'];
const eventTypeOf = (span: RecordedSpan) => span.attributes['orderly.event.type'];

describe('telemetry check', () => {
  let headers: Record<string, string>;
  let orderId: string;
  let traceId: string;

  test('when an order is placed through the gateway, then its whole fulfilment is one trace with parent/child links and order.id', async () => {
    headers = await customerHeaders();
    orderId = await placeOrder(headers, 'pm_card_ok');
    await eventually(async () => expect(await orderStatus(headers, orderId)).toBe('CONFIRMED'), {
      timeoutMs: 20_000,
    });

    const gatewaySpan = await eventually(() => {
      const found = spans
        .spans()
        .find(
          (s) =>
            serviceOf(s) === 'gateway' &&
            s.name === 'POST /v1/orders' &&
            s.attributes['order.id'] === orderId,
        );
      expect(found).toBeDefined();
      return found!;
    });
    traceId = gatewaySpan.spanContext().traceId;
    expect(gatewaySpan.parentSpanContext).toBeUndefined();
    expect(gatewaySpan.attributes).toMatchObject({
      'http.route': '/v1/orders',
      'http.response.status_code': 202,
    });

    // Everything downstream arrives asynchronously, and a publish span ends only when every subscriber
    // settled its message (in-memory bus) — possibly after later steps ended. So the whole chain is
    // looked up again until every link is there.
    const chain = await eventually(() => {
      const trace = spans.trace(traceId);
      const childOf = (
        parent: RecordedSpan,
        predicate: (s: RecordedSpan) => boolean,
        what: string,
      ): RecordedSpan => {
        const found = trace.find(
          (s) => s.parentSpanContext?.spanId === parent.spanContext().spanId && predicate(s),
        );
        expect(found, `${what} under ${parent.name} (${String(serviceOf(parent))})`).toBeDefined();
        return found!;
      };
      const rpcClient = childOf(
        gatewaySpan,
        (s) => s.name === 'order.v1.OrderService/PlaceOrder',
        'the Connect client span',
      );
      const placeOrderSpan = childOf(
        rpcClient,
        (s) => serviceOf(s) === 'order' && s.name === 'order.v1.OrderService/PlaceOrder',
        'PlaceOrder on the order service',
      );
      expect(placeOrderSpan.attributes['order.id']).toBe(orderId);

      const published = (parent: RecordedSpan, type: string) =>
        childOf(
          parent,
          (s) => s.name.startsWith('publish ') && eventTypeOf(s) === type,
          `publish ${type}`,
        );
      const processed = (parent: RecordedSpan, service: string) =>
        childOf(
          parent,
          (s) => s.name.startsWith('process ') && serviceOf(s) === service,
          `${service} processing`,
        );

      const orderPlaced = published(placeOrderSpan, 'order.v1.OrderPlaced');
      const reserve = processed(orderPlaced, 'inventory');
      const stockReserved = published(reserve, 'inventory.v1.StockReserved');
      const stockResult = processed(stockReserved, 'order');
      // The risk step: no payment is requested before risk approved the order.
      const assessmentRequested = published(stockResult, 'order.v1.RiskAssessmentRequested');
      const assess = processed(assessmentRequested, 'risk');
      const riskAssessed = published(assess, 'risk.v1.RiskAssessed');
      const riskResult = processed(riskAssessed, 'order');
      const paymentRequested = published(riskResult, 'order.v1.PaymentRequested');
      const charge = processed(paymentRequested, 'payment');
      const paymentSucceeded = published(charge, 'payment.v1.PaymentSucceeded');
      const paymentResult = processed(paymentSucceeded, 'order');
      const orderConfirmed = published(paymentResult, 'order.v1.OrderConfirmed');
      const settle = processed(orderConfirmed, 'inventory');
      const notify = processed(orderConfirmed, 'notification');
      const notified = published(notify, 'notification.v1.CustomerNotified');

      return [
        placeOrderSpan,
        orderPlaced,
        reserve,
        stockReserved,
        stockResult,
        assessmentRequested,
        assess,
        riskAssessed,
        riskResult,
        paymentRequested,
        charge,
        paymentSucceeded,
        paymentResult,
        orderConfirmed,
        settle,
        notify,
        notified,
      ];
    });
    const [, orderPlaced, reserve] = chain as [
      RecordedSpan,
      RecordedSpan,
      RecordedSpan,
      ...RecordedSpan[],
    ];
    for (const span of chain) {
      expect(span.attributes['order.id'], `${span.name} (${String(serviceOf(span))})`).toBe(
        orderId,
      );
      expect(span.status.code, span.name).not.toBe(2);
    }
    expect(reserve.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.consumer.group.name': 'inventory.reserve-stock',
      'messaging.system': 'memory',
    });
    expect(orderPlaced.kind).toBe(3); // PRODUCER
    expect(reserve.kind).toBe(4); // CONSUMER
  });

  test("when an order's services log, then every line about it carries its trace_id", () => {
    const aboutOrder = logLines.filter((l) => l.orderId === orderId);
    const services = new Set(aboutOrder.map((l) => l['service.name']));
    expect([...services].sort()).toEqual(
      expect.arrayContaining(['inventory', 'notification', 'order', 'payment', 'risk']),
    );
    for (const line of aboutOrder)
      expect(line, JSON.stringify(line)).toMatchObject({ trace_id: traceId });
    expect(logLines).toContainEqual(
      expect.objectContaining({
        'service.name': 'gateway',
        msg: 'request handled',
        trace_id: traceId,
        'http.method': 'POST',
        'http.route': '/v1/orders',
        'http.status_code': 202,
        duration_ms: expect.any(Number) as number,
      }),
    );
  });

  test('when services are scraped, then /metrics shows requests, RPCs, orders by outcome, the saga, the outbox, consumers and the process', async () => {
    const declined = await placeOrder(headers, 'pm_card_declined');
    await eventually(async () => expect(await orderStatus(headers, declined)).toBe('CANCELLED'), {
      timeoutMs: 20_000,
    });
    // A poison message: undecodable, so it is dead-lettered at once.
    await bus.publish([
      {
        subject: 'events.order.v1.OrderPlaced',
        id: randomUUID(),
        data: new Uint8Array([0xff, 0xff, 0xff]),
        headers: { [busHeaders.eventType]: 'order.v1.OrderPlaced' },
      },
    ]);
    setFlagsFromString('--expose-gc');
    (runInNewContext('gc') as () => void)();

    const gateway = await scrape('gateway');
    expect(
      sample(gateway, 'http_server_request_duration_count', {
        http_request_method: 'POST',
        http_route: '/v1/orders',
        http_response_status_code: '202',
      }),
    ).toBe(2);
    expect(sample(gateway, 'rpc_client_duration_count', { rpc_method: 'PlaceOrder' })).toBe(2);

    const order = await eventually(async () => {
      const samples = await scrape('order');
      expect(
        sample(samples, 'orders_cancelled_total', {
          order_cancellation_reason: 'PAYMENT_DECLINED',
        }),
      ).toBe(1);
      expect(sample(samples, 'orderly_outbox_backlog')).toBe(0);
      return samples;
    });
    expect(
      sample(order, 'rpc_server_duration_count', {
        rpc_service: 'order.v1.OrderService',
        rpc_method: 'PlaceOrder',
      }),
    ).toBe(2);
    expect(sample(order, 'orders_placed_total')).toBe(2);
    expect(sample(order, 'orders_confirmed_total')).toBe(1);
    expect(sample(order, 'orders_saga_duration_count', { order_status: 'CONFIRMED' })).toBe(1);
    expect(
      sample(order, 'orders_saga_duration_sum', { order_status: 'CONFIRMED' }),
    ).toBeGreaterThan(0);
    expect(sample(order, 'orderly_outbox_publish_lag_count')).toBeGreaterThanOrEqual(4);
    expect(
      sample(order, 'messaging_process_duration_count', {
        messaging_consumer_group_name: 'order.stock-results',
      }),
    ).toBe(2);
    expect(
      sample(order, 'orderly_consumer_redeliveries_total', {
        messaging_consumer_group_name: 'order.payment-results',
      }),
    ).toBe(0);

    const inventory = await eventually(async () => {
      const samples = await scrape('inventory');
      expect(
        sample(samples, 'orderly_consumer_dead_letters_total', {
          messaging_consumer_group_name: 'inventory.reserve-stock',
        }),
      ).toBe(1);
      return samples;
    });
    expect(
      sample(inventory, 'orderly_consumer_dead_letters_total', {
        messaging_consumer_group_name: 'inventory.settle-reservations',
      }),
    ).toBe(0);
    expect(
      sample(inventory, 'messaging_process_duration_count', {
        messaging_consumer_group_name: 'inventory.reserve-stock',
      }),
    ).toBe(3);
    expect(
      sample(inventory, 'messaging_process_duration_count', {
        messaging_consumer_group_name: 'inventory.reserve-stock',
        error_type: 'EVENT_UNDECODABLE',
      }),
    ).toBe(1);

    for (const service of serviceNames) {
      const samples = await scrape(service);
      const p99 = sample(samples, 'nodejs_eventloop_delay_p99');
      expect(p99, service).toBeGreaterThan(0);
      expect(p99, service).toBeLessThan(60);
      expect(sample(samples, 'v8js_memory_heap_used'), service).toBeGreaterThan(0);
      expect(sample(samples, 'v8js_gc_duration_count'), service).toBeGreaterThanOrEqual(1);
      expect(sample(samples, 'target_info', { service_name: service }), service).toBe(1);
    }
  });

  test('when no tracing backend runs, then `orderly trace` prints the order timeline from the services data and logs', () => {
    writeFileSync(logFile, logLines.map((l) => JSON.stringify(l)).join('\n'));
    const env: Record<string, string> = {
      ...(process.env as Record<string, string>),
      ORDERLY_POSTGRES__URL: postgresUrl,
    };
    for (const [service, database] of Object.entries(databases))
      env[`ORDERLY_SERVICES__${service.toUpperCase()}__DATABASE`] = database;
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', 'tools/cli/src/main.ts', 'trace', orderId, '--logs', logFile],
      {
        cwd: repoRoot,
        env,
        encoding: 'utf8',
      },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(result.stdout).toContain(`order ${orderId}: CONFIRMED`);
    expect(result.stdout).toContain(`trace ${traceId}`);
    for (const step of [
      'status PENDING',
      'reservation',
      'status STOCK_RESERVED',
      'payment CAPTURED',
      'status CONFIRMED',
      'customer notified',
    ]) {
      expect(result.stdout).toContain(step);
    }
    expect(result.stdout).toContain('gateway log');
  });
});
