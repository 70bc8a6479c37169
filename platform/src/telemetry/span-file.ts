import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace-base';

/**
 * Finished spans appended to a file as OTLP JSON lines: each line is one OTLP
 * `ExportTraceServiceRequest` (`{"resourceSpans":[…]}`), as the OpenTelemetry Collector's file
 * exporter writes them, so `orderly map`, `orderly-guard traces` and any OTLP tool read either.
 *
 * Every service of a process that names the same file shares one writer, so the services of the
 * embedded mode do not interleave partial lines; separate processes may name one file too (each
 * batch is one append of one line, O_APPEND).
 */
export class SpanFileExporter implements SpanExporter {
  private readonly writer: LineWriter;

  constructor(path: string) {
    this.writer = lineWriter(path);
  }

  export(spans: ReadableSpan[], resultCallback: (result: ExportResult) => void): void {
    const bytes = JsonTraceSerializer.serializeRequest(spans);
    if (!bytes || spans.length === 0) return resultCallback({ code: ExportResultCode.SUCCESS });
    this.writer.append(`${Buffer.from(bytes).toString('utf8')}\n`).then(
      () => resultCallback({ code: ExportResultCode.SUCCESS }),
      (error: unknown) =>
        resultCallback({
          code: ExportResultCode.FAILED,
          error: error instanceof Error ? error : new Error(String(error)),
        }),
    );
  }

  /** Resolves when every line handed to this file so far is written. */
  forceFlush(): Promise<void> {
    return this.writer.drained();
  }

  shutdown(): Promise<void> {
    return this.writer.drained();
  }
}

/** `telemetry.spanFile` as a path: relative to the data folder unless absolute. */
export function spanFilePath(spanFile: string, dataDir: string): string {
  return resolve(isAbsolute(spanFile) ? spanFile : join(dataDir, spanFile));
}

interface LineWriter {
  append(line: string): Promise<void>;
  drained(): Promise<void>;
}

const writers = new Map<string, LineWriter>();

function lineWriter(path: string): LineWriter {
  let writer = writers.get(path);
  if (!writer) {
    // One chain per file: appends happen one after another, in the order they were handed over. A
    // folder that cannot be made fails each append (ENOENT), which the span processor reports.
    let tail: Promise<unknown> = mkdir(dirname(path), { recursive: true }).catch(() => undefined);
    writer = {
      append(line) {
        const written = tail.then(() => appendFile(path, line));
        tail = written.catch(() => undefined);
        return written;
      },
      drained: () => tail.then(() => undefined),
    };
    writers.set(path, writer);
  }
  return writer;
}
