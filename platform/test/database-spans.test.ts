import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  Database,
  createLogger,
  loadConfigDocument,
  parseConfigSection,
  platformConfigSchema,
  type Telemetry,
} from '../src/index.js';
import { ensureDatabase } from '../src/db/index.js';
import { createTelemetry } from '../src/telemetry/index.js';
import {
  dropTestDatabase,
  recordSpans,
  uniqueName,
  type RecordedSpan,
} from '../src/testing/index.js';

/**
 * Statement spans: every statement a service sends inside a sampled trace appears in it, named by
 * what it does (`INSERT span_test_orders`) with the database semantic conventions, and no value the
 * statement carried — parameter, literal, or one PostgreSQL quotes back in an error — is recorded.
 */
const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const name = uniqueName('orderly_test_db_spans');
const secrets = ['secret-customer-4711', 'secret-literal-0815', 'secret-not-a-uuid-42'];
const spans = recordSpans();
const telemetries: Telemetry[] = [];
const databases: Database[] = [];

function databaseTracedWith(samplingRatio: number): { db: Database; telemetry: Telemetry } {
  const platform = parseConfigSection(
    platformConfigSchema,
    loadConfigDocument({
      argv: [],
      env: {},
      overrides: { logLevel: 'silent', telemetry: { samplingRatio, otlpEndpoint: '' } },
    }).document,
  );
  const telemetry = createTelemetry({ service: 'span-test', platform });
  const db = new Database(
    {
      url: serverUrl,
      database: name,
      poolSize: 2,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5000,
      idleTimeoutMs: 10_000,
      applicationName: 'span-test',
    },
    createLogger({ service: 'span-test', level: 'silent' }),
    telemetry.tracer,
  );
  telemetries.push(telemetry);
  databases.push(db);
  return { db, telemetry };
}

beforeAll(async () => {
  await ensureDatabase(serverUrl, name, 5000);
  const { db } = databaseTracedWith(1);
  await db.query(
    'CREATE TABLE span_test_orders (id uuid PRIMARY KEY, customer text NOT NULL, note text)',
  );
});
afterAll(async () => {
  spans.stop();
  await Promise.all(databases.map((db) => db.close()));
  await Promise.all(telemetries.map((t) => t.shutdown()));
  await dropTestDatabase(serverUrl, name);
});

const inTrace = (spanList: readonly RecordedSpan[], traceId: string) =>
  spanList.filter((s) => s.spanContext().traceId === traceId);

/** Every string a span carries: attributes, status, events and their attributes. */
function recordedText(span: RecordedSpan): string {
  return JSON.stringify([
    span.name,
    span.attributes,
    span.status,
    span.events.map((e) => [e.name, e.attributes]),
  ]);
}

describe('statement spans', () => {
  test('when a request inserts a row, then the INSERT is a child span with db.system, operation, table and summary, and no value', async () => {
    const { db, telemetry } = databaseTracedWith(1);
    await telemetry.inSpan('place order', {}, async () => {
      await db.transaction(
        (tx) =>
          tx.query('INSERT INTO span_test_orders (id, customer) VALUES ($1, $2)', [
            '00000000-0000-4000-8000-000000000001',
            secrets[0],
          ]),
        // A literal sent with BEGIN, as the inbox sends its rows.
        { opening: `SELECT '${secrets[1]}' AS note FROM span_test_orders LIMIT 1` },
      );
    });

    const request = spans.spans().find((s) => s.name === 'place order')!;
    const trace = inTrace(spans.spans(), request.spanContext().traceId);
    const insert = trace.find((s) => s.name === 'INSERT span_test_orders');
    expect(insert, trace.map((s) => s.name).join(', ')).toBeDefined();
    expect(insert!.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
    expect(insert!.attributes).toMatchObject({
      'db.system': 'postgresql',
      'db.system.name': 'postgresql',
      'db.namespace': name,
      'db.operation.name': 'INSERT',
      'db.collection.name': 'span_test_orders',
      'db.query.summary': 'INSERT span_test_orders',
      'server.address': '127.0.0.1',
    });
    expect(trace.map((s) => s.name)).toEqual(
      expect.arrayContaining(['BEGIN; SELECT span_test_orders', 'COMMIT']),
    );
    for (const span of trace) {
      for (const secret of secrets) expect(recordedText(span)).not.toContain(secret);
    }
  });

  test('when a statement fails on a bad value, then its span records the SQLSTATE and not the message that quotes the value', async () => {
    const { db, telemetry } = databaseTracedWith(1);
    const failure = await telemetry
      .inSpan('bad request', {}, () =>
        db.query('INSERT INTO span_test_orders (id, customer) VALUES ($1, $2)', [
          secrets[2],
          'anyone',
        ]),
      )
      .then(
        () => undefined,
        (error: unknown) => error as Error,
      );
    // PostgreSQL's own message names the value: the span must not repeat it.
    expect(failure?.message).toContain(secrets[2]);

    const request = spans.spans().find((s) => s.name === 'bad request')!;
    const traceId = request.spanContext().traceId;
    const insert = inTrace(spans.spans(), traceId).find(
      (s) => s.name === 'INSERT span_test_orders',
    );
    expect(insert?.status.code).toBe(2);
    expect(insert?.attributes).toMatchObject({
      'db.response.status_code': '22P02',
      'error.type': '22P02',
    });
    for (const span of inTrace(spans.spans(), traceId))
      for (const secret of secrets) expect(recordedText(span)).not.toContain(secret);
  });

  test('when statements run outside any request, or in an unsampled trace, then they start no span', async () => {
    const sampled = databaseTracedWith(1);
    const before = spans.spans().length;
    await sampled.db.query('SELECT count(*) FROM span_test_orders WHERE customer = $1', ['x']);
    expect(spans.spans().length).toBe(before);

    const unsampled = databaseTracedWith(0);
    await unsampled.telemetry.inSpan('unsampled request', {}, () =>
      unsampled.db.query('SELECT count(*) FROM span_test_orders WHERE customer = $1', ['x']),
    );
    expect(spans.spans().length).toBe(before);
  });
});
