import { pino, type Logger as PinoLogger } from 'pino';
import { context, trace } from '@opentelemetry/api';

/**
 * Structured JSON logs on stdout. Services receive a `Logger` from the platform and never import
 * pino themselves. Fixed messages, structured fields, ids rather than payloads.
 *
 * Schema (docs/observability.md): `time` (ISO 8601), `level` (label), `service.name`, `trace_id` and
 * `span_id` (of the active span, when there is one), `msg`, then the call's own fields; request lines
 * add `http.method`, `http.route`, `http.status_code`, `duration_ms`.
 */
export type Logger = PinoLogger;
/** Where lines go: stdout by default; tests pass a stream to capture them. */
export type LogDestination = pino.DestinationStream;
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Paths that must never reach a log line, whatever a caller passes. */
export const redactedPaths = [
  'password',
  '*.password',
  'token',
  '*.token',
  'accessToken',
  '*.accessToken',
  'refreshToken',
  '*.refreshToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'req.headers.authorization',
  'paymentMethod',
  '*.paymentMethod',
  'cardNumber',
  '*.cardNumber',
  'cvc',
  '*.cvc',
  'secret',
  '*.secret',
  'keyEncryptionKey',
  '*.keyEncryptionKey',
  'headers.cookie',
  'req.headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
];

export interface LoggerOptions {
  readonly service: string;
  readonly level: LogLevel;
  readonly version?: string;
  readonly environment?: string;
  /** Tests pass a stream to capture lines; production writes to stdout. */
  readonly destination?: LogDestination;
}

export function createLogger(options: LoggerOptions): Logger {
  const base: Record<string, string> = { 'service.name': options.service };
  if (options.version) base['service.version'] = options.version;
  if (options.environment) base['deployment.environment'] = options.environment;
  const pinoOptions = {
    level: options.level,
    base,
    messageKey: 'msg',
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
    redact: { paths: redactedPaths, censor: '[redacted]' },
    // Every line written while a span is active names it, so logs and traces join on trace_id.
    mixin: () => activeTraceIds() ?? {},
  };
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

/** Trace and span id of the active span, when there is one (for log lines). */
function activeTraceIds(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const spanContext = span.spanContext();
  if (!trace.isSpanContextValid(spanContext)) return undefined;
  return { trace_id: spanContext.traceId, span_id: spanContext.spanId };
}
