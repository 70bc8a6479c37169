import { readFileSync } from 'node:fs';

/**
 * Spans as `orderly map` reads them: from OTLP JSON (what `telemetry.spanFile` and the
 * OpenTelemetry Collector's file exporter write, one `{"resourceSpans":[…]}` per line) or from an
 * in-memory exporter's finished spans. Times are milliseconds since the epoch, with microseconds.
 */
export type SpanKindName = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export interface TraceSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: SpanKindName;
  /** The resource's `service.name` (`unknown_service` when it has none). */
  readonly service: string;
  readonly startMs: number;
  readonly endMs: number;
  /** Status ERROR. */
  readonly error: boolean;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

export class SpanFileError extends Error {}

/** OTLP's SpanKind numbers (0 unspecified is read as internal). */
const otlpKinds: Record<number, SpanKindName> = {
  1: 'internal',
  2: 'server',
  3: 'client',
  4: 'producer',
  5: 'consumer',
};
/** The API's SpanKind numbers, as an in-memory exporter's spans carry them. */
const apiKinds: SpanKindName[] = ['internal', 'server', 'client', 'producer', 'consumer'];

interface OtlpValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
  arrayValue?: { values?: OtlpValue[] };
}
interface OtlpAttribute {
  key: string;
  value?: OtlpValue;
}
interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: OtlpAttribute[];
  status?: { code?: number };
}
interface OtlpDocument {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

function attributeValue(value: OtlpValue | undefined): string | number | boolean | undefined {
  if (!value) return undefined;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue)
    return JSON.stringify((value.arrayValue.values ?? []).map((v) => attributeValue(v)));
  return undefined;
}

function attributeRecord(
  attributes: readonly OtlpAttribute[] | undefined,
): Record<string, string | number | boolean> {
  const record: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    const read = attributeValue(value);
    if (read !== undefined) record[key] = read;
  }
  return record;
}

/** Nanoseconds since the epoch (a decimal string in OTLP JSON) as milliseconds, to the microsecond. */
function nanosToMs(nanos: string | number | undefined): number {
  if (nanos === undefined) return Number.NaN;
  return Number(BigInt(nanos) / 1000n) / 1000;
}

/** The spans of one OTLP JSON document (`ExportTraceServiceRequest`). */
export function spansFromOtlp(document: OtlpDocument): TraceSpan[] {
  const spans: TraceSpan[] = [];
  for (const resourceSpans of document.resourceSpans ?? []) {
    const resource = attributeRecord(resourceSpans.resource?.attributes);
    const service =
      typeof resource['service.name'] === 'string' ? resource['service.name'] : 'unknown_service';
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        if (!span.traceId || !span.spanId) continue;
        spans.push({
          traceId: span.traceId,
          spanId: span.spanId,
          parentSpanId: span.parentSpanId || undefined,
          name: span.name ?? '',
          kind: otlpKinds[span.kind ?? 1] ?? 'internal',
          service,
          startMs: nanosToMs(span.startTimeUnixNano),
          endMs: nanosToMs(span.endTimeUnixNano),
          error: span.status?.code === 2,
          attributes: attributeRecord(span.attributes),
        });
      }
    }
  }
  return spans;
}

/**
 * Reads OTLP JSON files: one document per line (JSON lines), or one document in the whole file.
 * A line that is not an OTLP document is an error naming the file and line.
 */
export function readSpanFiles(paths: readonly string[]): TraceSpan[] {
  const spans: TraceSpan[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new SpanFileError(`cannot read ${path}: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const whole = parseDocument(text.trim());
    if (whole) {
      spans.push(...spansFromOtlp(whole));
      continue;
    }
    text.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      const document = parseDocument(line);
      if (!document)
        throw new SpanFileError(`${path}:${index + 1}: not an OTLP JSON document (resourceSpans)`);
      spans.push(...spansFromOtlp(document));
    });
  }
  return spans;
}

function parseDocument(text: string): OtlpDocument | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const parsed = JSON.parse(text) as unknown;
    if (typeof parsed === 'object' && parsed !== null && 'resourceSpans' in parsed)
      return parsed as OtlpDocument;
  } catch {
    // not one document: the caller tries line by line
  }
  return undefined;
}

/** What an in-memory exporter holds (the SDK's ReadableSpan), described by its shape only. */
export interface FinishedSpanShape {
  readonly name: string;
  readonly kind: number;
  spanContext(): { traceId: string; spanId: string };
  readonly parentSpanContext?: { spanId: string } | undefined;
  readonly startTime: readonly [number, number];
  readonly endTime: readonly [number, number];
  readonly status: { code: number };
  readonly attributes: Readonly<Record<string, unknown>>;
  readonly resource: { readonly attributes: Readonly<Record<string, unknown>> };
}

/** The finished spans of an in-memory exporter, as `orderly map` reads them. */
export function spansFromFinished(finished: readonly FinishedSpanShape[]): TraceSpan[] {
  const ms = ([seconds, nanos]: readonly [number, number]) => seconds * 1000 + nanos / 1e6;
  return finished.map((span) => {
    const attributes: Record<string, string | number | boolean> = {};
    for (const [key, value] of Object.entries(span.attributes)) {
      if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
        attributes[key] = value;
      else if (Array.isArray(value)) attributes[key] = JSON.stringify(value);
    }
    const service = span.resource.attributes['service.name'];
    return {
      traceId: span.spanContext().traceId,
      spanId: span.spanContext().spanId,
      parentSpanId: span.parentSpanContext?.spanId,
      name: span.name,
      kind: apiKinds[span.kind] ?? 'internal',
      service: typeof service === 'string' ? service : 'unknown_service',
      startMs: ms(span.startTime),
      endMs: ms(span.endTime),
      error: span.status.code === 2,
      attributes,
    };
  });
}
