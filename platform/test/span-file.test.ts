import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { loadConfigDocument, parseConfigSection, platformConfigSchema } from '../src/index.js';
import { createTelemetry } from '../src/telemetry/index.js';

/**
 * `telemetry.spanFile`: finished spans appended as OTLP JSON lines (the Collector file exporter's
 * format), relative to dataDir, shared by the services of one process without mixing their lines.
 */
const dataDir = mkdtempSync(join(tmpdir(), 'orderly-span-file-'));
afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

function telemetryOf(service: string, spanFile: string) {
  const platform = parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({
      argv: [],
      env: {},
      overrides: {
        logLevel: 'silent',
        dataDir,
        telemetry: { samplingRatio: 1, otlpEndpoint: '', spanFile },
      },
    }).document,
  );
  return createTelemetry({ service, platform });
}

interface OtlpLine {
  resourceSpans: {
    resource: { attributes: { key: string; value: { stringValue?: string } }[] };
    scopeSpans: { spans: { name: string; traceId: string; parentSpanId?: string }[] }[];
  }[];
}

describe('span file', () => {
  test('when two services of one process trace work, then every span is in the file as OTLP JSON lines under its service', async () => {
    const order = telemetryOf('order', 'traces/spans.jsonl');
    const inventory = telemetryOf('inventory', 'traces/spans.jsonl');
    for (let i = 0; i < 50; i++) {
      await order.inSpan('place order', { 'order.id': `o-${i}` }, () =>
        order.inSpan('insert', {}, () => Promise.resolve()),
      );
      await inventory.inSpan('reserve stock', {}, () => Promise.resolve());
    }
    await Promise.all([order.shutdown(), inventory.shutdown()]);

    const lines = readFileSync(join(dataDir, 'traces/spans.jsonl'), 'utf8').trim().split('\n');
    const spans = lines.flatMap((line) =>
      (JSON.parse(line) as OtlpLine).resourceSpans.flatMap((resource) => {
        const service = resource.resource.attributes.find((a) => a.key === 'service.name')?.value
          .stringValue;
        return resource.scopeSpans.flatMap((scope) =>
          scope.spans.map((span) => ({ service, ...span })),
        );
      }),
    );
    const count = (service: string, name: string) =>
      spans.filter((s) => s.service === service && s.name === name).length;
    expect(count('order', 'place order')).toBe(50);
    expect(count('order', 'insert')).toBe(50);
    expect(count('inventory', 'reserve stock')).toBe(50);
    const insert = spans.find((s) => s.name === 'insert')!;
    expect(insert.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(insert.parentSpanId).toMatch(/^[0-9a-f]{16}$/);
  });
});
