import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { create, createFileRegistry, type DescService } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, file_google_protobuf_wrappers } from '@bufbuild/protobuf/wkt';
import { afterEach, describe, expect, test } from 'vitest';
import {
  createLogger,
  createRpcClient,
  MemoryBus,
  loadConfigDocument,
  parseConfigSection,
  platformConfigSchema,
  type Telemetry,
} from '../src/index.js';
import {
  registerConsumerLagMetrics,
  registerReadinessMetrics,
} from '../src/runtime/health-metrics.js';
import { Readiness } from '../src/runtime/readiness.js';
import { createTelemetry } from '../src/telemetry/index.js';
import {
  eventually,
  freePort,
  parsePrometheus,
  prometheusNames,
  type Instrument,
} from '../src/testing/index.js';

/**
 * The health signals alerts are written against (deploy/observability/prometheus/rules): readiness
 * per check and circuit breakers per callee, as a service's /metrics shows them.
 */
const started: Telemetry[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.shutdown()));
});

function aTelemetry(): Telemetry {
  const platform = parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({ argv: [], env: {}, overrides: { logLevel: 'silent' } }).document,
  );
  const telemetry = createTelemetry({
    service: 'test',
    platform,
    log: createLogger({ service: 'test', level: 'silent' }),
  });
  started.push(telemetry);
  return telemetry;
}

async function scrape(telemetry: Telemetry): Promise<ReturnType<typeof parsePrometheus>> {
  const server = createServer((req, res) => telemetry.serveMetrics(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    return parsePrometheus(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

const value = (
  samples: ReturnType<typeof parsePrometheus>,
  name: string,
  labels: Record<string, string> = {},
) =>
  samples.find(
    (s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v),
  )?.value;

describe('readiness metrics', () => {
  test('when a check fails, then orderly_readiness is 0 and the failing check is named; when it passes again, 1', async () => {
    // Arrange
    const telemetry = aTelemetry();
    const readiness = new Readiness();
    let databaseUp = false;
    readiness.set('database', () =>
      databaseUp ? Promise.resolve() : Promise.reject(new Error('connection refused')),
    );
    readiness.set('bus', () => Promise.resolve());
    registerReadinessMetrics({
      meter: telemetry.meter,
      readiness,
      budget: () => ({ budgetMs: 1000, pingTimeoutMs: 500 }),
      stopping: () => false,
    });

    // Act
    const down = await scrape(telemetry);
    databaseUp = true;
    const up = await scrape(telemetry);

    // Assert
    expect(value(down, 'orderly_readiness')).toBe(0);
    expect(
      value(down, 'orderly_readiness_check', { orderly_readiness_check_name: 'database' }),
    ).toBe(0);
    expect(value(down, 'orderly_readiness_check', { orderly_readiness_check_name: 'bus' })).toBe(1);
    expect(value(up, 'orderly_readiness')).toBe(1);
    expect(value(up, 'orderly_readiness_check', { orderly_readiness_check_name: 'database' })).toBe(
      1,
    );
  });

  test('when the service is stopping, then orderly_readiness is 0 although every check passes', async () => {
    const telemetry = aTelemetry();
    const readiness = new Readiness();
    readiness.set('bus', () => Promise.resolve());
    registerReadinessMetrics({
      meter: telemetry.meter,
      readiness,
      budget: () => ({ budgetMs: 1000, pingTimeoutMs: 500 }),
      stopping: () => true,
    });
    expect(value(await scrape(telemetry), 'orderly_readiness')).toBe(0);
  });
});

/** A one-method contract to call: nothing listens at its URL. */
const EchoService = createFileRegistry(
  create(FileDescriptorProtoSchema, {
    name: 'test/v1/echo_circuit.proto',
    package: 'test.v1',
    syntax: 'proto3',
    dependency: ['google/protobuf/wrappers.proto'],
    service: [
      {
        name: 'EchoService',
        method: [
          {
            name: 'Echo',
            inputType: '.google.protobuf.StringValue',
            outputType: '.google.protobuf.StringValue',
          },
        ],
      },
    ],
  }),
  () => file_google_protobuf_wrappers,
).getService('test.v1.EchoService') as DescService;

describe('circuit breaker metrics', () => {
  test('when calls to a callee fail past the threshold, then orderly_rpc_circuit_open is 1 for it and the opening is counted', async () => {
    // Arrange
    const telemetry = aTelemetry();
    const client = createRpcClient(EchoService, {
      baseUrl: `http://127.0.0.1:${await freePort()}`,
      defaultTimeoutMs: 2000,
      telemetry,
      resilience: {
        retry: { maxAttempts: 1, baseDelayMs: 1, maxDelayMs: 1 },
        retryBudget: { maxTokens: 10, tokenRatio: 0.1 },
        circuitBreaker: { failureThreshold: 2, openMs: 60_000 },
      },
    }) as unknown as { echo(request: { value: string }): Promise<unknown> };
    const closed = await scrape(telemetry);

    // Act
    for (let i = 0; i < 3; i++) await client.echo({ value: 'x' }).catch(() => undefined);
    const open = await scrape(telemetry);

    // Assert
    const callee = { rpc_service: 'test.v1.EchoService' };
    expect(value(closed, 'orderly_rpc_circuit_open', callee)).toBe(0);
    expect(value(open, 'orderly_rpc_circuit_open', callee)).toBe(1);
    expect(value(open, 'orderly_rpc_circuit_opened_total', callee)).toBe(1);
  });
});

describe('Prometheus names', () => {
  test('when an instrument of each kind is scraped, then its name is the one prometheusNames derives (units are not appended)', async () => {
    // Arrange
    const telemetry = aTelemetry();
    const instruments: Instrument[] = [
      { name: 'orderly.check.things', kind: 'counter' },
      { name: 'orderly.check.wait', kind: 'histogram' },
      { name: 'orderly.check.level', kind: 'gauge' },
      { name: 'orderly.check.open', kind: 'updowncounter' },
    ];

    // Act
    telemetry.meter.createCounter('orderly.check.things', { unit: '{thing}' }).add(1);
    telemetry.meter.createHistogram('orderly.check.wait', { unit: 's' }).record(0.2);
    telemetry.meter
      .createObservableGauge('orderly.check.level', { unit: 'By' })
      .addCallback((result) => result.observe(3));
    telemetry.meter.createUpDownCounter('orderly.check.open', { unit: '{connection}' }).add(2);
    const scraped = (await scrape(telemetry))
      .map((s) => s.name)
      .filter((name) => name.startsWith('orderly_check_'));

    // Assert
    expect([...new Set(scraped)].sort()).toEqual(instruments.flatMap(prometheusNames).sort());
  });
});

describe('consumer lag metrics', () => {
  test('when deliveries wait behind a busy handler, then orderly_consumer_lag counts them; once handled, 0', async () => {
    // Arrange
    const telemetry = aTelemetry();
    const bus = new MemoryBus();
    const release: (() => void)[] = [];
    await bus.subscribe(
      {
        name: 'test.lagging',
        subjects: ['events.test'],
        maxDeliver: 3,
        ackWaitMs: 60_000,
        retryBackoffMs: [10],
        concurrency: 1,
      },
      () => new Promise<void>((resolve) => release.push(resolve)),
    );
    registerConsumerLagMetrics({
      meter: telemetry.meter,
      lag: async () => (await bus.diagnostics(['test.lagging'])).consumers,
    });
    const subscription = { messaging_consumer_group_name: 'test.lagging' };

    // Act
    const published = bus.publish(
      Array.from({ length: 5 }, (_, i) => ({
        subject: 'events.test',
        id: `event-${i}`,
        data: new Uint8Array(),
        headers: {},
      })),
    );
    await eventually(() => expect(release.length).toBe(1));
    const waiting = await scrape(telemetry);
    while (
      (await scrape(telemetry).then((s) => value(s, 'orderly_consumer_lag', subscription))) !== 0
    ) {
      release.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await published;
    await bus.close();

    // Assert
    expect(value(waiting, 'orderly_consumer_lag', subscription)).toBe(5);
  });
});
