import { randomUUID } from 'node:crypto';
import { findAppError } from '../errors/index.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import {
  ProxyTracerProvider,
  SpanKind,
  SpanStatusCode,
  context,
  createNoopMeter,
  propagation,
  trace,
  type Attributes,
  type Context,
  type Histogram,
  type Meter,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchLogRecordProcessor, LoggerProvider } from '@opentelemetry/sdk-logs';
import {
  MeterProvider,
  PeriodicExportingMetricReader,
  type IMetricReader,
} from '@opentelemetry/sdk-metrics';
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type ReadableSpan,
  type Span as SdkSpan,
  type SpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { pino } from 'pino';
import type { PlatformConfig } from '../config/index.js';
import { buildInfo } from '../packaging/build-info.js';
import { createLogger, type LogDestination, type Logger } from '../log/index.js';
import { nameHttpRoute } from './http-server.js';
import { durationBucketBoundaries, instrumentationScope } from './instruments.js';
import { otlpLogStream } from './log-export.js';
import { tracePropagator } from './propagation.js';
import { registerRuntimeMetrics } from './runtime-metrics.js';
import { SpanFileExporter, spanFilePath } from './span-file.js';
import { postgresErrorState } from '../db/statement-spans.js';

/**
 * The one telemetry path. Each service gets one `Telemetry`: a tracer, a meter and the logger, all
 * labelled with `service.name`, `service.version` and `deployment.environment`. Services use this
 * object and never import OpenTelemetry, pino or a metrics library themselves.
 *
 * Exporters follow configuration: with `telemetry.otlpEndpoint` set, spans, metrics and logs go to
 * that OTLP/HTTP endpoint (a Collector); without it nothing is exported, and shutdown has nothing
 * to wait for. With `telemetry.spanFile` set, spans are also appended to that file as OTLP JSON.
 * Metrics are always readable as Prometheus text at `telemetry.metricsPath` on the service's own
 * port. Sampling is parent-based with `telemetry.samplingRatio` for new traces.
 *
 * Providers are per service rather than global, so the embedded mode (every service in one process)
 * still tells services apart; the context manager and propagator are process-wide.
 */
export interface Telemetry {
  readonly service: string;
  readonly enabled: boolean;
  readonly log: Logger;
  readonly tracer: Tracer;
  readonly meter: Meter;
  readonly metricsPath: string;
  /**
   * Names what the current request or event is about (e.g. `{ 'order.id': id }`): the attributes go
   * on the active span, and travel as correlation to the spans of what it causes.
   */
  correlate(attributes: Readonly<Record<string, string>>): void;
  /** Runs `work` in a child span of the active one; a failure is recorded on the span and rethrown. */
  inSpan<T>(name: string, attributes: Attributes, work: () => Promise<T>): Promise<T>;
  /** A histogram of durations in seconds with buckets that suit requests and sagas alike. */
  durationHistogram(name: string, description: string): Histogram;
  /**
   * Tells the HTTP server span which route matched (`/v1/orders/:orderId`), for its name and the
   * `http.route` of request metrics.
   */
  nameHttpRoute(req: IncomingMessage, route: string): void;
  /** Answers a Prometheus scrape. */
  serveMetrics(req: IncomingMessage, res: ServerResponse): void;
  /** Flushes and stops exporters; bounded by `telemetry.shutdownTimeoutMs`, so it never hangs. */
  shutdown(): Promise<void>;
}

export interface TelemetryOptions {
  readonly service: string;
  readonly platform: PlatformConfig;
  /** A logger made by the caller (tests capture lines); otherwise one is created for the service. */
  readonly log?: Logger;
}

let globalsInstalled = false;
/** Context manager and propagator are process-wide: install them once, whatever the number of services. */
function installGlobals(): void {
  if (globalsInstalled) return;
  globalsInstalled = true;
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(tracePropagator);
}

const processSpanProcessors = new Set<SpanProcessor>();

/**
 * Adds a span processor that sees the spans of every service in this process, including services
 * created earlier (the telemetry check test records spans this way). Returns its removal.
 */
export function addProcessSpanProcessor(processor: SpanProcessor): () => void {
  processSpanProcessors.add(processor);
  return () => processSpanProcessors.delete(processor);
}

class ProcessSpanProcessors implements SpanProcessor {
  onStart(span: SdkSpan, parentContext: Context): void {
    for (const processor of processSpanProcessors) processor.onStart(span, parentContext);
  }
  onEnd(span: ReadableSpan): void {
    for (const processor of processSpanProcessors) processor.onEnd(span);
  }
  async forceFlush(): Promise<void> {
    await Promise.all([...processSpanProcessors].map((p) => p.forceFlush()));
  }
  shutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** The configured `telemetry.serviceVersion`, or the build's version when it is empty. */
function serviceVersion(config: PlatformConfig['telemetry']): string {
  return config.serviceVersion || buildInfo().version;
}

export function createTelemetry(options: TelemetryOptions): Telemetry {
  const { platform, service } = options;
  const config = platform.telemetry;
  if (!config.enabled) return disabledTelemetry(options);
  installGlobals();

  const resource = resourceFromAttributes({
    'service.name': service,
    'service.namespace': 'orderly',
    'service.version': serviceVersion(config),
    'vcs.ref.head.revision': buildInfo().commit,
    'orderly.build.time': buildInfo().builtAt,
    'service.instance.id': randomUUID(),
    'deployment.environment.name': platform.environment,
    // The name before semantic conventions 1.27, still what many backends group by.
    'deployment.environment': platform.environment,
  });
  const otlp = config.otlpEndpoint.replace(/\/+$/, '');

  const spanProcessors: SpanProcessor[] = [new ProcessSpanProcessors()];
  if (otlp) {
    spanProcessors.push(
      new BatchSpanProcessor(
        new OTLPTraceExporter({ url: `${otlp}/v1/traces`, timeoutMillis: config.exportTimeoutMs }),
        { exportTimeoutMillis: config.exportTimeoutMs },
      ),
    );
  }
  if (config.spanFile) {
    spanProcessors.push(
      new BatchSpanProcessor(
        new SpanFileExporter(spanFilePath(config.spanFile, platform.dataDir)),
        {
          exportTimeoutMillis: config.exportTimeoutMs,
        },
      ),
    );
  }
  const tracerProvider = new BasicTracerProvider({
    resource,
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.samplingRatio) }),
    spanProcessors,
  });

  const prometheus = new PrometheusExporter({ preventServerStart: true });
  const readers: IMetricReader[] = [prometheus];
  if (otlp) {
    readers.push(
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter({
          url: `${otlp}/v1/metrics`,
          timeoutMillis: config.exportTimeoutMs,
        }),
        exportIntervalMillis: config.metricExportIntervalMs,
        exportTimeoutMillis: Math.min(config.exportTimeoutMs, config.metricExportIntervalMs),
      }),
    );
  }
  const meterProvider = new MeterProvider({ resource, readers });

  let loggerProvider: LoggerProvider | undefined;
  let log = options.log;
  if (!log) {
    let destination: LogDestination | undefined;
    if (otlp) {
      loggerProvider = new LoggerProvider({
        resource,
        processors: [
          new BatchLogRecordProcessor({
            exporter: new OTLPLogExporter({
              url: `${otlp}/v1/logs`,
              timeoutMillis: config.exportTimeoutMs,
            }),
            exportTimeoutMillis: config.exportTimeoutMs,
          }),
        ],
      });
      destination = pino.multistream([
        { level: 'trace', stream: pino.destination(1) },
        { level: 'trace', stream: otlpLogStream(loggerProvider.getLogger(instrumentationScope)) },
      ]);
    }
    log = createLogger({
      service,
      level: platform.logLevel,
      environment: platform.environment,
      version: serviceVersion(config),
      ...(destination ? { destination } : {}),
    });
  }

  const tracer = tracerProvider.getTracer(instrumentationScope, serviceVersion(config));
  const meter = meterProvider.getMeter(instrumentationScope, serviceVersion(config));
  const unregisterRuntimeMetrics = registerRuntimeMetrics(meter, {
    eventLoopDelayResolutionMs: config.eventLoopDelayResolutionMs,
    windowMs: config.metricExportIntervalMs,
  });
  const histograms = new Map<string, Histogram>();
  let shutdown: Promise<void> | undefined;

  return {
    service,
    enabled: true,
    log,
    tracer,
    meter,
    metricsPath: config.metricsPath,
    correlate: (attributes) => trace.getActiveSpan()?.setAttributes(attributes),
    inSpan: (name, attributes, work) => runInSpan(tracer, name, attributes, work),
    durationHistogram(name, description) {
      let histogram = histograms.get(name);
      if (!histogram) {
        histogram = meter.createHistogram(name, {
          unit: 's',
          description,
          advice: { explicitBucketBoundaries: durationBucketBoundaries },
        });
        histograms.set(name, histogram);
      }
      return histogram;
    },
    nameHttpRoute,
    serveMetrics: (req, res) => prometheus.getMetricsRequestHandler(req, res),
    shutdown() {
      shutdown ??= (async () => {
        unregisterRuntimeMetrics();
        let timer: NodeJS.Timeout | undefined;
        const bounded = new Promise<void>((resolve) => {
          timer = setTimeout(resolve, config.shutdownTimeoutMs);
          timer.unref();
        });
        const flushed = Promise.allSettled([
          tracerProvider.shutdown(),
          meterProvider.shutdown(),
          loggerProvider?.shutdown(),
        ]);
        await Promise.race([flushed, bounded]);
        clearTimeout(timer);
      })();
      return shutdown;
    },
  };
}

function disabledTelemetry(options: TelemetryOptions): Telemetry {
  const { platform, service } = options;
  const tracer = new ProxyTracerProvider().getTracer(instrumentationScope);
  const meter = createNoopMeter();
  return {
    service,
    enabled: false,
    log:
      options.log ??
      createLogger({
        service,
        level: platform.logLevel,
        environment: platform.environment,
        version: serviceVersion(platform.telemetry),
      }),
    tracer,
    meter,
    metricsPath: platform.telemetry.metricsPath,
    correlate: () => undefined,
    nameHttpRoute: () => undefined,
    inSpan: (_name, _attributes, work) => work(),
    durationHistogram: (name, description) =>
      meter.createHistogram(name, { unit: 's', description }),
    serveMetrics: (_req, res) => {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { code: 'TELEMETRY_DISABLED', message: 'telemetry.enabled is false' },
        }),
      );
    },
    shutdown: () => Promise.resolve(),
  };
}

/** Runs `work` as the active span `span`, ends it, and records a failure on it. */
export async function runWithSpan<T>(
  span: Span,
  parent: Context,
  work: () => Promise<T>,
): Promise<T> {
  try {
    return await context.with(trace.setSpan(parent, span), work);
  } catch (error) {
    recordFailure(span, error);
    throw error;
  } finally {
    span.end();
  }
}

function runInSpan<T>(
  tracer: Tracer,
  name: string,
  attributes: Attributes,
  work: () => Promise<T>,
): Promise<T> {
  const parent = context.active();
  const span = tracer.startSpan(name, { kind: SpanKind.INTERNAL, attributes }, parent);
  return runWithSpan(span, parent, work);
}

export function recordFailure(span: Span, error: unknown): void {
  // PostgreSQL quotes the offending value in some messages (`invalid input syntax for type uuid:
  // "…"`): a span keeps only its SQLSTATE, as the statement's own span does.
  const state = postgresErrorState(error);
  if (state !== undefined) {
    span.recordException({ name: 'DatabaseError', code: state, message: `SQLSTATE ${state}` });
    span.setStatus({ code: SpanStatusCode.ERROR, message: `SQLSTATE ${state}` });
    span.setAttribute('error.type', state);
    return;
  }
  // A refusal by load shedding is deliberate and cheap; its stack trace (formatted for the
  // exception event) is neither useful nor cheap when thousands arrive per second.
  if (!findAppError(error)?.shedding)
    span.recordException(error instanceof Error ? error : String(error));
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
  span.setAttribute('error.type', errorType(error));
}

/** A low-cardinality name for a failure: the stable AppError code when there is one. */
export function errorType(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    if (error instanceof Error) return error.name;
  }
  return '_OTHER';
}
