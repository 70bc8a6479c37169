import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { runProgram, type CommandIo } from '../src/command-line.js';
import { orderlyProgram } from '../src/commands.js';

/**
 * `orderly map` on span files written as `telemetry.spanFile` writes them (OTLP JSON lines): the
 * edges with calls, error rate and p99, and an order's critical path through an asynchronous saga.
 * The real run (the whole system writing its spans) is test/e2e/service-map.test.ts.
 */
function capture() {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = { out: (t) => void out.push(t), err: (t) => void err.push(t) };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

interface SpanSpec {
  readonly trace: string;
  readonly id: string;
  readonly parent?: string;
  readonly service: string;
  readonly name: string;
  readonly kind: 1 | 2 | 3 | 4 | 5;
  readonly start: number;
  readonly end: number;
  readonly error?: boolean;
  readonly attributes?: Record<string, string>;
}
const [internal, server, client, producer, consumer] = [1, 2, 3, 4, 5] as const;
void internal;
const epochNs = 1_780_000_000_000_000_000n;
const nanos = (ms: number) => String(epochNs + BigInt(Math.round(ms * 1_000_000)));

function spanFile(specs: readonly SpanSpec[]): string {
  const lines = specs.map((s) =>
    JSON.stringify({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: s.service } }] },
          scopeSpans: [
            {
              spans: [
                {
                  traceId: s.trace.padStart(32, '0'),
                  spanId: s.id.padStart(16, '0'),
                  ...(s.parent ? { parentSpanId: s.parent.padStart(16, '0') } : {}),
                  name: s.name,
                  kind: s.kind,
                  startTimeUnixNano: nanos(s.start),
                  endTimeUnixNano: nanos(s.end),
                  attributes: Object.entries(s.attributes ?? {}).map(([key, value]) => ({
                    key,
                    value: { stringValue: value },
                  })),
                  status: { code: s.error ? 2 : 0 },
                },
              ],
            },
          ],
        },
      ],
    }),
  );
  const path = join(mkdtempSync(join(tmpdir(), 'orderly-map-')), 'spans.jsonl');
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const rpc = { 'rpc.system': 'connect_rpc', 'rpc.service': 'order.v1.OrderService' };
/** One order placed at `t0`: HTTP → RPC → SQL, then OrderPlaced consumed by inventory. */
function saga(
  trace: string,
  orderId: string,
  t0: number,
  rpcMs: number,
  error = false,
): SpanSpec[] {
  const order = { 'order.id': orderId };
  return [
    {
      trace,
      id: 'a',
      service: 'gateway',
      name: 'POST /v1/orders',
      kind: server,
      start: t0,
      end: t0 + rpcMs + 2,
      attributes: order,
    },
    {
      trace,
      id: 'b',
      parent: 'a',
      service: 'gateway',
      name: 'order.v1.OrderService/PlaceOrder',
      kind: client,
      start: t0 + 1,
      end: t0 + 1 + rpcMs,
      error,
      attributes: { ...rpc, 'rpc.method': 'PlaceOrder' },
    },
    {
      trace,
      id: 'c',
      parent: 'b',
      service: 'order',
      name: 'order.v1.OrderService/PlaceOrder',
      kind: server,
      start: t0 + 1.5,
      end: t0 + rpcMs,
      error,
      attributes: { ...rpc, 'rpc.method': 'PlaceOrder', ...order },
    },
    {
      trace,
      id: 'd',
      parent: 'c',
      service: 'order',
      name: 'INSERT orders',
      kind: client,
      start: t0 + 2,
      end: t0 + 3,
      attributes: {
        'db.system': 'postgresql',
        'db.namespace': 'orderly_order',
        'db.query.summary': 'INSERT orders',
      },
    },
    {
      trace,
      id: 'e',
      parent: 'c',
      service: 'order',
      name: 'publish events.order.v1.OrderPlaced',
      kind: producer,
      start: t0 + rpcMs + 5,
      end: t0 + rpcMs + 6,
      attributes: { 'messaging.destination.name': 'events.order.v1.OrderPlaced', ...order },
    },
    {
      trace,
      id: 'f',
      parent: 'e',
      service: 'inventory',
      name: 'process events.order.v1.OrderPlaced',
      kind: consumer,
      start: t0 + rpcMs + 10,
      end: t0 + rpcMs + 40,
      attributes: {
        'messaging.destination.name': 'events.order.v1.OrderPlaced',
        'messaging.consumer.group.name': 'inventory.reserve-stock',
        ...order,
      },
    },
  ];
}

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

async function map(args: string[]) {
  const io = capture();
  const code = await runProgram(orderlyProgram, ['map', ...args], io.io);
  return { code, out: io.out(), err: io.err() };
}

describe('orderly map', () => {
  const file = spanFile([
    ...saga('1', 'order-1', 0, 10),
    ...saga('2', 'order-2', 100, 20),
    ...saga('3', 'order-3', 200, 30),
    ...saga('4', 'order-4', 300, 200, true),
  ]);

  test('when spans of four orders are read, then each edge shows its calls, error rate and p99', async () => {
    const { code, out, err } = await map(['--spans', file]);
    expect(code, err).toBe(0);
    expect(out).toContain('Service map: 24 spans in 4 traces; 5 edges');
    expect(out).toMatch(/^ +client → gateway +HTTP +4 +0\.0 % /m);
    // p99 of 10, 20, 30 and 200 ms is 200 ms; one of four failed.
    expect(out).toMatch(/^ +gateway → order +RPC +4 +25\.0 % +20\.0 +200$/m);
    expect(out).toMatch(/^ +order → \[events\.order\.v1\.OrderPlaced\] +publish +4 /m);
    // Waited from the publish starting to the processing starting: 5 ms each.
    expect(out).toMatch(
      /^ +\[events\.order\.v1\.OrderPlaced\] → inventory +consume +4 +0\.0 % +30\.0 +30\.0 +5\.0$/m,
    );
    expect(out).toMatch(/^ +order → postgresql orderly_order +SQL +4 /m);
  });

  test("when an order is named, then its trace's critical path runs through the RPC, the wait and the consumer, and those edges are marked", async () => {
    const { code, out } = await map(['--spans', file, '--order', 'order-2']);
    expect(code).toBe(0);
    expect(out).toContain(
      `Critical path of order order-2: trace ${'2'.padStart(32, '0')}, 60.0 ms`,
    );
    const path = out.slice(out.indexOf('Critical path'));
    const order = [
      ['gateway', 'POST /v1/orders'],
      ['gateway', 'order.v1.OrderService/PlaceOrder'],
      ['order', 'order.v1.OrderService/PlaceOrder'],
      ['order', 'INSERT orders'],
      ['order', '(waiting after order.v1.OrderService/PlaceOrder)'],
      ['order', 'publish events.order.v1.OrderPlaced'],
      ['inventory', 'process events.order.v1.OrderPlaced'],
    ].map(([service, span]) => path.search(new RegExp(`${service} +${escape(span!)}\n`)));
    expect(
      order.every((index) => index > 0),
      path,
    ).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(out).toMatch(/^\* +gateway → order +RPC/m);
    expect(out).toMatch(/^\* +\[events\.order\.v1\.OrderPlaced\] → inventory +consume/m);
  });

  test('when mermaid is asked for, then the map is a flowchart with the path in red', async () => {
    const { code, out } = await map(['--spans', file, '--order', 'order-1', '--format', 'mermaid']);
    expect(code).toBe(0);
    expect(out.split('\n')[0]).toBe('flowchart LR');
    expect(out).toContain('  n0(["client"])\n');
    expect(out).toMatch(/n\d+>"events\.order\.v1\.OrderPlaced"\]/);
    expect(out).toMatch(/n\d+\[\("postgresql orderly_order"\)\]/);
    expect(out).toMatch(/^ {2}linkStyle [\d,]+ stroke:#d62728,stroke-width:4px$/m);
  });

  test('when arguments are wrong or files unusable, then it says so with exit 2 (usage) or 1', async () => {
    expect((await map([])).code).toBe(2);
    expect((await map(['--spans', file, '--format', 'dot'])).err).toContain(
      "--format must be text or mermaid, not 'dot'",
    );
    expect((await map(['--spans', file, '--bogus'])).code).toBe(2);
    const missing = await map(['--spans', '/nonexistent/spans.jsonl']);
    expect(missing.code).toBe(1);
    expect(missing.err).toContain('cannot read /nonexistent/spans.jsonl');
    const unknownOrder = await map(['--spans', file, '--order', 'nope']);
    expect(unknownOrder.code).toBe(1);
    expect(unknownOrder.err).toContain('no span names order nope');
    const help = await map(['--help']);
    expect(help.code).toBe(0);
    expect(help.out).toContain('usage: orderly map --spans <file>');
  });
});
