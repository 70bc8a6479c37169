import {
  InMemorySpanExporter,
  SimpleSpanProcessor,
  type ReadableSpan,
} from '@opentelemetry/sdk-trace-base';
import { addProcessSpanProcessor } from '../telemetry/index.js';

export type RecordedSpan = ReadableSpan;

/**
 * Records every span that any service of this process ends, from now until `stop()`. For tests
 * that assert the shape of a trace without a collector.
 */
export function recordSpans(): {
  spans(): RecordedSpan[];
  trace(traceId: string): RecordedSpan[];
  stop(): void;
} {
  const exporter = new InMemorySpanExporter();
  const remove = addProcessSpanProcessor(new SimpleSpanProcessor(exporter));
  return {
    spans: () => exporter.getFinishedSpans(),
    trace: (traceId) =>
      exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === traceId),
    stop: () => {
      remove();
      exporter.reset();
    },
  };
}

/** Parses Prometheus text into samples: `{ name, labels, value }`. */
export function parsePrometheus(
  text: string,
): { name: string; labels: Record<string, string>; value: number }[] {
  const samples: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1] ?? ''] = (pair[2] ?? '').replace(/\\(.)/g, '$1');
    }
    samples.push({ name: match[1] ?? '', labels, value: Number(match[3]) });
  }
  return samples;
}
