import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runGuard } from './guard-runner.ts';

/**
 * `orderly-guard traces`: the runtime twin of no-sync-call-chain, on span files as the
 * OpenTelemetry Collector's file exporter writes them (one OTLP JSON document per line).
 */
interface SpanSpec {
  readonly id: string;
  readonly parent?: string;
  readonly service: string;
  readonly name: string;
  readonly kind: 'server' | 'client' | 'producer' | 'consumer' | 'internal';
  /** Milliseconds from the trace's start. */
  readonly start: number;
  readonly end: number;
  readonly error?: boolean;
  readonly attributes?: Record<string, string>;
}

const otlpKind = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const epochNs = 1_780_000_000_000_000_000n;
const nanos = (ms: number) => String(epochNs + BigInt(Math.round(ms * 1_000_000)));

/** One OTLP JSON line per service, as a Collector's file exporter writes them. */
function spanFile(specs: readonly SpanSpec[]): string {
  const services = [...new Set(specs.map((s) => s.service))];
  const lines = services.map((service) =>
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
          scopeSpans: [
            {
              scope: { name: 'test' },
              spans: specs
                .filter((s) => s.service === service)
                .map((s) => ({
                  traceId,
                  spanId: s.id.padStart(16, '0'),
                  ...(s.parent ? { parentSpanId: s.parent.padStart(16, '0') } : {}),
                  name: s.name,
                  kind: otlpKind[s.kind],
                  startTimeUnixNano: nanos(s.start),
                  endTimeUnixNano: nanos(s.end),
                  attributes: Object.entries(s.attributes ?? {}).map(([key, value]) => ({
                    key,
                    value: { stringValue: value },
                  })),
                  status: { code: s.error ? 2 : 0 },
                })),
            },
          ],
        },
      ],
    }),
  );
  const path = join(mkdtempSync(join(tmpdir(), 'guard-traces-')), 'spans.jsonl');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const request: SpanSpec = {
  id: '1',
  service: 'checkout',
  name: 'POST /checkout',
  kind: 'server',
  start: 0,
  end: 100,
};
/** A call from checkout to `service`, with the callee's server span under it. */
function call(
  id: string,
  service: string,
  method: string,
  start: number,
  end: number,
  parent = '1',
) {
  const rpc = { 'rpc.system': 'grpc', 'rpc.service': `${service}.v1.Api`, 'rpc.method': method };
  return [
    {
      id: `${id}0`,
      parent,
      service: 'checkout',
      name: `${service}.v1.Api/${method}`,
      kind: 'client',
      start,
      end,
      attributes: rpc,
    },
    {
      id: `${id}1`,
      parent: `${id}0`,
      service,
      name: `${service}.v1.Api/${method}`,
      kind: 'server',
      start: start + 1,
      end: end - 1,
      attributes: rpc,
    },
  ] satisfies SpanSpec[];
}

describe('orderly-guard traces', { timeout: 60_000 }, () => {
  test('when a request waits on two calls to other services one after the other, then it exits 1 and names both in order', () => {
    const file = spanFile([
      request,
      ...call('a', 'inventory', 'Reserve', 5, 30),
      ...call('b', 'payment', 'Charge', 35, 80),
    ]);
    const { status, stdout } = runGuard(['traces', file]);
    expect(status).toBe(1);
    expect(stdout).toContain(
      'checkout  POST /checkout  1 time: waits on 2 synchronous calls to other services in sequence',
    );
    expect(stdout).toMatch(
      /1\. inventory {2}inventory\.v1\.Api\/Reserve[^\n]*\n\s+2\. payment {2}payment\.v1\.Api\/Charge/,
    );
  });

  test('when the two calls run in parallel, then it exits 0', () => {
    const file = spanFile([
      request,
      ...call('a', 'inventory', 'Reserve', 5, 60),
      ...call('b', 'payment', 'Charge', 6, 80),
    ]);
    const { status, stdout } = runGuard(['traces', file]);
    expect(status).toBe(0);
    expect(stdout).toMatch(/^orderly-guard traces: no synchronous call chain \(/);
  });

  test('when the second step is a published message that another service consumes, then it exits 0', () => {
    const file = spanFile([
      request,
      ...call('a', 'inventory', 'Reserve', 5, 30),
      {
        id: 'p',
        parent: '1',
        service: 'checkout',
        name: 'publish OrderPlaced',
        kind: 'producer',
        start: 35,
        end: 36,
      },
      {
        id: 'c',
        parent: 'p',
        service: 'payment',
        name: 'process OrderPlaced',
        kind: 'consumer',
        start: 40,
        end: 90,
      },
    ]);
    expect(runGuard(['traces', file]).status).toBe(0);
  });

  test('when the callee itself waits on another service, then the caller is reported with the nested call', () => {
    const file = spanFile([
      request,
      ...call('a', 'orders', 'Place', 5, 80),
      ...call('b', 'inventory', 'Reserve', 20, 60, 'a1').map((s) =>
        s.kind === 'client' ? { ...s, service: 'orders' } : s,
      ),
    ]);
    const { status, stdout } = runGuard(['traces', file, '--format', 'json']);
    expect(status).toBe(1);
    const report = JSON.parse(stdout) as {
      chains: {
        service: string;
        length: number;
        calls: { callee: string; nested: { callee: string }[] }[];
      }[];
    };
    expect(report.chains).toHaveLength(1);
    expect(report.chains[0]).toMatchObject({
      service: 'checkout',
      length: 2,
      calls: [{ callee: 'orders', nested: [{ callee: 'inventory' }] }],
    });
  });

  test('when the sequential calls are database statements or a retry of a failed call, then it exits 0', () => {
    const statement = (id: string, start: number, end: number): SpanSpec => ({
      id,
      parent: '1',
      service: 'checkout',
      name: 'INSERT orders',
      kind: 'client',
      start,
      end,
      attributes: { 'db.system': 'postgresql' },
    });
    const failed = call('a', 'inventory', 'Reserve', 5, 20).map((s) => ({ ...s, error: true }));
    const file = spanFile([
      request,
      statement('d1', 2, 4),
      ...failed,
      ...call('b', 'inventory', 'Reserve', 25, 50),
      statement('d2', 55, 60),
    ]);
    expect(runGuard(['traces', file]).status).toBe(0);
  });

  test('when a call is ignored by --ignore, then it does not count', () => {
    const file = spanFile([
      request,
      ...call('a', 'identity', 'GetJwks', 5, 30),
      ...call('b', 'payment', 'Charge', 35, 80),
    ]);
    expect(runGuard(['traces', file]).status).toBe(1);
    expect(runGuard(['traces', file, '--ignore', 'identity.v1.Api/GetJwks']).status).toBe(0);
    expect(runGuard(['traces', file, '--ignore', 'ident*']).status).toBe(0);
  });

  test('when the file is missing or not OTLP JSON, then it exits 2 and says which', () => {
    const missing = runGuard(['traces', '/nonexistent/spans.jsonl']);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toContain('cannot read /nonexistent/spans.jsonl');
    const path = join(mkdtempSync(join(tmpdir(), 'guard-traces-')), 'spans.jsonl');
    writeFileSync(path, '{"resourceSpans":[]}\nnot json\n');
    const bad = runGuard(['traces', path]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain(`${path}:2: not OTLP JSON`);
    expect(runGuard(['traces']).status).toBe(2);
  });
});
