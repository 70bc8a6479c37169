import { Writable } from 'node:stream';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import {
  SeverityNumber,
  type AnyValueMap,
  type Logger as OtelLogger,
} from '@opentelemetry/api-logs';

/**
 * A pino destination that forwards each JSON log line as an OpenTelemetry log record (OTLP), keeping
 * its trace and span ids, so a backend shows a span's logs next to it. stdout stays the primary sink.
 */
const severities: Record<string, SeverityNumber> = {
  trace: SeverityNumber.TRACE,
  debug: SeverityNumber.DEBUG,
  info: SeverityNumber.INFO,
  warn: SeverityNumber.WARN,
  error: SeverityNumber.ERROR,
  fatal: SeverityNumber.FATAL,
};

/** Fields that become part of the record itself (or the resource), not attributes. */
const recordFields = new Set([
  'time',
  'level',
  'msg',
  'trace_id',
  'span_id',
  'service.name',
  'service.version',
  'deployment.environment',
]);

export function otlpLogStream(logger: OtelLogger): Writable {
  return new Writable({
    decodeStrings: false,
    write(chunk: string | Buffer, _encoding, callback) {
      for (const line of String(chunk).split('\n')) {
        if (line.trim() !== '') emitLine(logger, line);
      }
      callback();
    },
  });
}

function emitLine(logger: OtelLogger, line: string): void {
  let record: Record<string, unknown>;
  try {
    record = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return;
  }
  const attributes: AnyValueMap = {};
  for (const [key, value] of Object.entries(record)) {
    if (recordFields.has(key)) continue;
    attributes[key] =
      typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? value
        : JSON.stringify(value);
  }
  const level = typeof record.level === 'string' ? record.level : 'info';
  const traceId = typeof record.trace_id === 'string' ? record.trace_id : undefined;
  const spanId = typeof record.span_id === 'string' ? record.span_id : undefined;
  logger.emit({
    timestamp: typeof record.time === 'string' ? new Date(record.time) : new Date(),
    severityText: level,
    severityNumber: severities[level] ?? SeverityNumber.UNSPECIFIED,
    body: typeof record.msg === 'string' ? record.msg : '',
    attributes,
    ...(traceId && spanId
      ? {
          context: trace.setSpanContext(ROOT_CONTEXT, {
            traceId,
            spanId,
            traceFlags: TraceFlags.SAMPLED,
            isRemote: false,
          }),
        }
      : {}),
  });
}
