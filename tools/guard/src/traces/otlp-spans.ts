import { readFileSync } from 'node:fs';

/**
 * Spans read from OTLP JSON: the OpenTelemetry Collector's file exporter output (one
 * `{"resourceSpans":[…]}` per line), one such document in a file, or a JSON array of them. Only
 * what the call-chain check needs is kept. Times are milliseconds since the epoch.
 */
export type SpanKind = 'internal' | 'server' | 'client' | 'producer' | 'consumer';

export interface Span {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string | undefined;
  readonly name: string;
  readonly kind: SpanKind;
  readonly service: string;
  readonly startMs: number;
  readonly endMs: number;
  readonly error: boolean;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

export class SpanReadError extends Error {}

const kinds: Record<number, SpanKind> = {
  1: 'internal',
  2: 'server',
  3: 'client',
  4: 'producer',
  5: 'consumer',
};

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: number | string;
  doubleValue?: number;
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface OtlpSpan {
  traceId?: string;
  spanId?: string;
  parentSpanId?: string;
  name?: string;
  kind?: number | string;
  startTimeUnixNano?: string | number;
  endTimeUnixNano?: string | number;
  attributes?: KeyValue[];
  status?: { code?: number | string };
}
interface TracesData {
  resourceSpans?: {
    resource?: { attributes?: KeyValue[] };
    scopeSpans?: { spans?: OtlpSpan[] }[];
  }[];
}

function record(
  attributes: readonly KeyValue[] | undefined,
): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const { key, value } of attributes ?? []) {
    if (!value) continue;
    if (value.stringValue !== undefined) out[key] = value.stringValue;
    else if (value.boolValue !== undefined) out[key] = value.boolValue;
    else if (value.intValue !== undefined) out[key] = Number(value.intValue);
    else if (value.doubleValue !== undefined) out[key] = value.doubleValue;
  }
  return out;
}

const nanosToMs = (nanos: string | number | undefined): number =>
  nanos === undefined ? Number.NaN : Number(BigInt(nanos) / 1000n) / 1000;

/** Some writers spell enums by name (`SPAN_KIND_CLIENT`, `STATUS_CODE_ERROR`). */
function kindOf(kind: number | string | undefined): SpanKind {
  if (typeof kind === 'string') {
    const name = kind.replace(/^SPAN_KIND_/, '').toLowerCase();
    return (Object.values(kinds) as string[]).includes(name) ? (name as SpanKind) : 'internal';
  }
  return kinds[kind ?? 1] ?? 'internal';
}

export function spansOf(data: TracesData): Span[] {
  const spans: Span[] = [];
  for (const resourceSpans of data.resourceSpans ?? []) {
    const resource = record(resourceSpans.resource?.attributes);
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
          kind: kindOf(span.kind),
          service,
          startMs: nanosToMs(span.startTimeUnixNano),
          endMs: nanosToMs(span.endTimeUnixNano),
          error: span.status?.code === 2 || span.status?.code === 'STATUS_CODE_ERROR',
          attributes: record(span.attributes),
        });
      }
    }
  }
  return spans;
}

function documents(text: string): TracesData[] | undefined {
  try {
    const parsed = JSON.parse(text) as unknown;
    if (Array.isArray(parsed)) return parsed as TracesData[];
    if (typeof parsed === 'object' && parsed !== null && 'resourceSpans' in parsed)
      return [parsed as TracesData];
  } catch {
    // not one document: read line by line
  }
  return undefined;
}

/** Reads every file; a line that is not OTLP JSON is an error naming the file and the line. */
export function readSpans(paths: readonly string[]): Span[] {
  const spans: Span[] = [];
  for (const path of paths) {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      throw new SpanReadError(`cannot read ${path}: ${(error as Error).message}`);
    }
    const whole = documents(text.trim());
    if (whole) {
      for (const document of whole) spans.push(...spansOf(document));
      continue;
    }
    text.split('\n').forEach((line, index) => {
      if (line.trim() === '') return;
      const parsed = documents(line);
      if (!parsed)
        throw new SpanReadError(`${path}:${index + 1}: not OTLP JSON (no resourceSpans)`);
      for (const document of parsed) spans.push(...spansOf(document));
    });
  }
  return spans;
}
