/**
 * What a PostgreSQL statement span costs the service's process: CPU per statement of the span
 * around it (platform/src/db/statement-spans.ts) with no active span, in an unsampled trace, and in
 * a sampled one — for a fixed statement (its summary remembered) and for the inbox rows sent with
 * BEGIN (literals in the text, summarized every time). The statement itself is a resolved promise,
 * so only the span's work is measured. No exporter runs (as in the default configuration). Not a
 * test: it prints figures.
 *
 *   node --import tsx bench/statement-spans-overhead.ts [statements per case, default 200000]
 */
import { loadConfigDocument, parseConfigSection, platformConfigSchema } from '@orderly/platform';
import { StatementSpans } from '../platform/src/db/statement-spans.js';
import { createTelemetry } from '../platform/src/telemetry/index.js';

const statements = Number(process.argv[2] ?? 200_000);
const rounds = 7;
const telemetryAt = (samplingRatio: number, service: string) =>
  createTelemetry({
    service,
    platform: parseConfigSection(
      platformConfigSchema,
      loadConfigDocument({
        argv: [],
        env: {},
        overrides: { logLevel: 'silent', telemetry: { samplingRatio, otlpEndpoint: '' } },
      }).document,
    ),
  });
const sampled = telemetryAt(1, 'sampled');
const unsampled = telemetryAt(0, 'unsampled');
const target = { database: 'orderly_order', url: 'postgres://postgres@127.0.0.1:5432/postgres' };
const sampledSpans = new StatementSpans(sampled.tracer, target);
const unsampledSpans = new StatementSpans(unsampled.tracer, target);
const fixed = [
  'INSERT INTO orders (id, customer_id) SELECT * FROM unnest($1::uuid[], $2::text[])',
  'SELECT id, status FROM orders WHERE id = ANY($1::uuid[]) FOR UPDATE',
  'COMMIT',
];
const sent = () => Promise.resolve();

async function each(run: (index: number) => Promise<void>): Promise<void> {
  for (let i = 0; i < statements; i++) await run(i);
}
const cases: [string, () => Promise<void>][] = [
  ['no span around the statement', () => each(() => sent())],
  ['no active span', () => each((i) => sampledSpans.run(fixed[i % 3]!, true, sent))],
  [
    'unsampled trace',
    () =>
      unsampled.inSpan('request', {}, () =>
        each((i) => unsampledSpans.run(fixed[i % 3]!, true, sent)),
      ),
  ],
  [
    'sampled trace, fixed statement',
    () =>
      sampled.inSpan('request', {}, () => each((i) => sampledSpans.run(fixed[i % 3]!, true, sent))),
  ],
  [
    'sampled trace, BEGIN with inbox rows',
    () =>
      sampled.inSpan('request', {}, () =>
        each((i) =>
          sampledSpans.run(
            `BEGIN; INSERT INTO inbox (subscription, event_id, event_type) VALUES ('order.stock-results', 'e-${i}', 'inventory.v1.StockReserved') ON CONFLICT DO NOTHING RETURNING event_id`,
            false,
            sent,
          ),
        ),
      ),
  ],
];
const perStatement = new Map<string, number[]>();
for (let round = 0; round < rounds; round++) {
  for (const [name, run] of cases) {
    const before = process.cpuUsage();
    await run();
    const used = process.cpuUsage(before);
    const list = perStatement.get(name) ?? [];
    list.push((used.user + used.system) / statements);
    perStatement.set(name, list);
  }
}
console.log(`CPU per statement (µs), median of ${rounds} rounds of ${statements}:`);
for (const [name, values] of perStatement) {
  const sorted = [...values].sort((a, b) => a - b);
  console.log(`  ${name.padEnd(38)} ${sorted[Math.floor(sorted.length / 2)]!.toFixed(2)}`);
}
await Promise.all([sampled.shutdown(), unsampled.shutdown()]);
