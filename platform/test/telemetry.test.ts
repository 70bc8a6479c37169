import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, test } from 'vitest';
import {
  createLogger,
  loadConfigDocument,
  parseConfigSection,
  platformConfigSchema,
  type PlatformConfig,
  type Telemetry,
} from '../src/index.js';
import {
  correlationAttributes,
  createTelemetry,
  extractTraceContext,
  injectTraceContext,
} from '../src/telemetry/index.js';
import { eventually, freePort, recordSpans } from '../src/testing/index.js';

function platformWith(telemetry: Record<string, unknown>): PlatformConfig {
  const document = loadConfigDocument({
    argv: [],
    env: {},
    overrides: { logLevel: 'silent', telemetry },
  });
  return parseConfigSection(platformConfigSchema, document.document);
}

function captureLines(): { lines: Record<string, unknown>[]; stream: Writable } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of String(chunk).split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { lines, stream };
}

/** A stand-in OpenTelemetry Collector: records which OTLP paths were posted to. */
async function fakeCollector(): Promise<{ url: string; paths: string[]; close(): Promise<void> }> {
  const paths: string[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    req.resume();
    req.on('end', () => {
      paths.push(req.url ?? '');
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    paths,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const started: Telemetry[] = [];
function telemetryFor(
  settings: Record<string, unknown>,
  log?: ReturnType<typeof createLogger>,
): Telemetry {
  const telemetry = createTelemetry({
    service: 'test',
    platform: platformWith(settings),
    ...(log ? { log } : {}),
  });
  started.push(telemetry);
  return telemetry;
}

afterEach(async () => {
  await Promise.all(started.splice(0).map((t) => t.shutdown()));
});

describe('logs', () => {
  test('when a caller logs tokens, passwords or payment data, then the line carries [redacted] instead', () => {
    const { lines, stream } = captureLines();
    const log = createLogger({ service: 'test', level: 'info', destination: stream });
    log.info(
      {
        password: 'hunter2-password',
        token: 'tok-secret',
        accessToken: 'eyJ-access',
        refreshToken: 'refresh-secret',
        user: { password: 'nested-password' },
        paymentMethod: 'pm_card_ok',
        card: { cardNumber: '4242424242424242', cvc: '123' },
        req: { headers: { authorization: 'Bearer eyJ-header', cookie: 'session=abc' } },
      },
      'login attempt',
    );
    const text = JSON.stringify(lines);
    for (const secret of [
      'hunter2',
      'tok-secret',
      'eyJ',
      'refresh-secret',
      'nested-password',
      'pm_card_ok',
      '4242',
      '"123"',
      'session=abc',
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(lines[0]).toMatchObject({
      password: '[redacted]',
      paymentMethod: '[redacted]',
      msg: 'login attempt',
    });
  });

  test('when a line is written inside a span, then it carries the documented fields with trace_id and span_id', async () => {
    const { lines, stream } = captureLines();
    const telemetry = telemetryFor(
      {},
      createLogger({ service: 'test', level: 'info', environment: 'test', destination: stream }),
    );
    const recorder = recordSpans();
    await telemetry.inSpan('work', {}, () => {
      telemetry.log.info({ orderId: 'o-1' }, 'inside');
      return Promise.resolve();
    });
    const span = recorder.spans().find((s) => s.name === 'work');
    recorder.stop();
    telemetry.log.info('outside');

    expect(lines[0]).toMatchObject({
      level: 'info',
      'service.name': 'test',
      msg: 'inside',
      orderId: 'o-1',
      trace_id: span?.spanContext().traceId,
      span_id: span?.spanContext().spanId,
    });
    expect(lines[0]?.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(lines[0]?.trace_id).toMatch(/^[0-9a-f]{32}$/);
    expect(lines[1]).not.toHaveProperty('trace_id');
  });
});

describe('sampling and propagation', () => {
  test('when the ratio is 0, then a new trace is not recorded but a sampled caller is still followed', () => {
    const telemetry = telemetryFor({ samplingRatio: 0 });
    const root = telemetry.tracer.startSpan('new trace');
    expect(root.isRecording()).toBe(false);
    root.end();
    const sampledParent = extractTraceContext(
      { traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' },
      { trustBaggage: true },
    );
    const child = telemetry.tracer.startSpan('continued', {}, sampledParent);
    expect(child.isRecording()).toBe(true);
    expect(child.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
    child.end();
  });

  test('when context is injected with correlation, then traceparent and baggage carry it, and only trusted baggage is read back', async () => {
    const telemetry = telemetryFor({});
    const recorder = recordSpans();
    const headers = await telemetry.inSpan('producer', {}, () =>
      Promise.resolve(
        injectTraceContext({ 'Orderly-Event-Id': 'e-1' }, undefined, { 'order.id': 'o-42' }),
      ),
    );
    const producer = recorder.spans().find((s) => s.name === 'producer');
    recorder.stop();
    const { traceId, spanId } = producer?.spanContext() ?? {};
    expect(headers).toMatchObject({
      'Orderly-Event-Id': 'e-1',
      traceparent: `00-${traceId}-${spanId}-01`,
      baggage: 'order.id=o-42',
    });
    expect(correlationAttributes(extractTraceContext(headers, { trustBaggage: true }))).toEqual({
      'order.id': 'o-42',
    });
    expect(correlationAttributes(extractTraceContext(headers, { trustBaggage: false }))).toEqual(
      {},
    );
    const child = telemetry.tracer.startSpan(
      'child',
      {},
      extractTraceContext(headers, { trustBaggage: false }),
    );
    expect(child.spanContext().traceId).toBe(traceId);
    child.end();
  });
});

describe('exporters', () => {
  test('when an OTLP endpoint is configured, then spans, metrics and logs are exported to it', async () => {
    const collector = await fakeCollector();
    try {
      const telemetry = createTelemetry({
        service: 'exporting',
        platform: { ...platformWith({ otlpEndpoint: collector.url }), logLevel: 'info' },
      });
      await telemetry.inSpan('exported', { 'order.id': 'o-1' }, () => Promise.resolve());
      telemetry.meter.createCounter('test.counter').add(1);
      telemetry.log.info('exported log line');
      await telemetry.shutdown();
      await eventually(() =>
        expect([...new Set(collector.paths)].sort()).toEqual([
          '/v1/logs',
          '/v1/metrics',
          '/v1/traces',
        ]),
      );
    } finally {
      await collector.close();
    }
  });

  test('when the configured collector is not running, then shutdown still completes', async () => {
    const closedPort = await freePort();
    const telemetry = createTelemetry({
      service: 'unreachable',
      platform: platformWith({
        otlpEndpoint: `http://127.0.0.1:${closedPort}`,
        shutdownTimeoutMs: 500,
        exportTimeoutMs: 500,
      }),
    });
    await telemetry.inSpan('lost', {}, () => Promise.resolve());
    await expect(telemetry.shutdown()).resolves.toBeUndefined();
  });

  test('when telemetry is disabled, then work still runs and /metrics answers 404', async () => {
    const telemetry = telemetryFor({ enabled: false });
    await expect(telemetry.inSpan('x', {}, () => Promise.resolve(7))).resolves.toBe(7);
    const server = createServer((req, res) => telemetry.serveMetrics(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(response.status).toBe(404);
    await new Promise((resolve) => server.close(resolve));
  });
});
