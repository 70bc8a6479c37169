import { afterAll, beforeAll, describe, expect, onTestFinished, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { trace } from '@opentelemetry/api';
import {
  Database,
  MemoryBus,
  Outbox,
  connectNatsBus,
  createLogger,
  loadConfigDocument,
  parseConfigSection,
  platformConfigSchema,
  type Bus,
  type BusMessage,
  type DatabaseOptions,
  type QueryResultRows,
  type Subscription,
} from '../src/index.js';
import { ensureDatabase, platformMigrations } from '../src/db/index.js';
import { OutboxRelay, type OutboxRelayOptions } from '../src/outbox/index.js';
import { createTelemetry } from '../src/telemetry/index.js';
import { platformInstruments } from '../src/telemetry/instruments.js';
import { dropTestDatabase, eventually, uniqueName } from '../src/testing/index.js';
import { SampleHappenedSchema } from './sample-event.js';

/**
 * The relay on real PostgreSQL and NATS JetStream: committed events are handed to it in process and
 * published at once, marked with few statements, and whatever it never got to (a crash, a failed
 * publish) is found by its safety pass — which runs when something falls due, not on a poll.
 */

const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.ORDERLY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const log = createLogger({ service: 'test', level: 'silent' });
const name = uniqueName('orderly_test_platform_relay');
const dbOptions = (poolSize: number): DatabaseOptions => ({
  url: serverUrl,
  database: name,
  poolSize,
  statementTimeoutMs: 10_000,
  connectTimeoutMs: 5000,
  idleTimeoutMs: 10_000,
  applicationName: 'test',
});
/** The writers' database; each relay gets its own `CountingDatabase`. */
let db: Database;
const opened: { close(): Promise<void> }[] = [];
const streams: string[] = [];

/** Counts the statements the relay sends (every one goes through `query`). */
class CountingDatabase extends Database {
  counted = 0;
  override query<Row = Record<string, unknown>>(
    text: string,
    values?: readonly unknown[],
  ): Promise<QueryResultRows<Row>> {
    this.counted++;
    return super.query<Row>(text, values);
  }
}

/** A safety interval far longer than any test waits: what arrives did not come from it. */
function relayOptions(overrides: Partial<OutboxRelayOptions> = {}): OutboxRelayOptions {
  return {
    batchSize: 50,
    handoffLeaseMs: 10_000,
    maxInFlight: 64,
    maxQueued: 10_000,
    markDelayMs: 10,
    safetyIntervalMs: 60_000,
    retryBaseMs: 50,
    retryMaxMs: 200,
    retentionMs: 60_000,
    cleanupIntervalMs: 60_000,
    claimLeaseMs: 10_000,
    ...overrides,
  };
}

function relayDatabase(): CountingDatabase {
  const relayDb = new CountingDatabase(dbOptions(4), log);
  opened.push(relayDb);
  return relayDb;
}

/** A JetStream stream of its own, and a consumer that records the event ids it receives, in order. */
async function natsWithConsumer(): Promise<{
  bus: Bus;
  prefix: string;
  received: string[];
  sub: Subscription;
}> {
  const id = randomUUID().slice(0, 8);
  const prefix = `relay${id}`;
  const bus = await connectNatsBus({
    servers: natsUrl,
    stream: `TEST_RELAY_${id}`,
    deadLetterStream: `TEST_RELAY_DL_${id}`,
    duplicateWindowMs: 60_000,
    subjects: [`${prefix}.>`],
    deadLetterSubjectPrefix: `${prefix}dl`,
  });
  streams.push(`TEST_RELAY_${id}`, `TEST_RELAY_DL_${id}`);
  opened.push(bus);
  const received: string[] = [];
  const sub = await bus.subscribe(
    {
      name: 'test.relay',
      subjects: [`${prefix}.platformtest.v1.SampleHappened`],
      maxDeliver: 3,
      ackWaitMs: 10_000,
      retryBackoffMs: [50],
      concurrency: 1,
    },
    (delivery) => {
      received.push(delivery.id);
      return Promise.resolve();
    },
  );
  opened.push({ close: () => sub.stop() });
  return { bus, prefix, received, sub };
}

/** A bus that refuses the first `failures` publishes, as a broker outage would. */
function refusingFirst(inner: Bus, failures: number): Bus & { attempts: number } {
  const flaky = Object.create(inner) as Bus & { attempts: number };
  flaky.attempts = 0;
  flaky.publish = async (messages: readonly BusMessage[]) => {
    flaky.attempts++;
    if (flaky.attempts <= failures) throw new Error('broker unavailable');
    return inner.publish(messages);
  };
  return flaky;
}

async function commitEvents(outbox: Outbox, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const event = await db.transaction((tx) =>
      outbox.add(tx, SampleHappenedSchema, { subjectId: randomUUID() }),
    );
    ids.push(event.eventId);
  }
  return ids;
}

async function unpublished(ids: readonly string[]): Promise<number> {
  const { rows } = await db.query<{ n: number }>(
    'SELECT count(*)::int AS n FROM outbox WHERE event_id = ANY($1::uuid[]) AND published_at IS NULL',
    [ids],
  );
  return rows[0]?.n ?? -1;
}

/** A started relay, stopped when the test ends (a failed test must not leave it taking other tests' rows). */
function startedRelay(relay: OutboxRelay): OutboxRelay {
  relay.start();
  onTestFinished(() => relay.stop());
  return relay;
}

/** Starts a relay and hands it what `outbox` commits, as the service runtime does. */
function startRelay(relayDb: Database, bus: Bus, outbox: Outbox, options = relayOptions()) {
  const relay = startedRelay(new OutboxRelay(relayDb, bus, log, options));
  outbox.handOffTo(relay);
  return relay;
}

beforeAll(async () => {
  await ensureDatabase(serverUrl, name, 5000);
  db = new Database(dbOptions(20), log);
  await db.migrate([platformMigrations]);
});
afterAll(async () => {
  for (const resource of opened.reverse()) await resource.close().catch(() => undefined);
  await db?.close();
  const nc = await connect({ servers: natsUrl });
  const jsm = await jetstreamManager(nc);
  for (const stream of streams) await jsm.streams.delete(stream).catch(() => undefined);
  await nc.close();
  await dropTestDatabase(serverUrl, name);
});

describe('after-commit hook', () => {
  test('when a transaction commits, then its after-commit callbacks run in order once the commit is visible; after a rollback they never run', async () => {
    const subjectId = randomUUID();
    const calls: string[] = [];
    let seenAfterCommit: Promise<number> | undefined;
    await db.transaction(async (tx) => {
      await tx.query(
        // Already published: no relay of the other tests picks it up.
        `INSERT INTO outbox (event_id, subject, event_type, payload, published_at)
         VALUES ($1, $2, 'test', '\\x00', now())`,
        [randomUUID(), `hook.${subjectId}`],
      );
      tx.afterCommit?.(() => {
        calls.push('first');
        // Another connection: it sees the row only if the commit already happened.
        seenAfterCommit = db
          .query('SELECT 1 FROM outbox WHERE subject = $1', [`hook.${subjectId}`])
          .then((r) => r.rowCount);
      });
      tx.afterCommit?.(() => calls.push('second'));
      expect(calls).toEqual([]);
    });
    expect(calls).toEqual(['first', 'second']);
    expect(await seenAfterCommit).toBe(1);

    const rolledBack: string[] = [];
    await db
      .transaction((tx) => {
        tx.afterCommit?.(() => rolledBack.push('ran'));
        return Promise.reject(new Error('abort'));
      })
      .catch(() => undefined);
    expect(rolledBack).toEqual([]);
  });
});

describe('outbox relay', () => {
  test('when an event commits, then it is published at once, without waiting for a safety pass', async () => {
    const { bus, prefix, received } = await natsWithConsumer();
    const outbox = new Outbox(prefix);
    startRelay(relayDatabase(), bus, outbox);

    const started = Date.now();
    const [eventId] = await commitEvents(outbox, 1);
    await eventually(() => expect(received).toContain(eventId), { timeoutMs: 2000 });
    expect(Date.now() - started).toBeLessThan(2000);
    await eventually(async () => expect(await unpublished([eventId!])).toBe(0));
  });

  test('when the transaction rolls back, then nothing is handed over and only the committed event is published', async () => {
    const { bus, prefix, received } = await natsWithConsumer();
    const outbox = new Outbox(prefix);
    startRelay(relayDatabase(), bus, outbox);

    const rolledBackSubject = randomUUID();
    let rolledBackId: string | undefined;
    await db
      .transaction(async (tx) => {
        rolledBackId = (
          await outbox.add(tx, SampleHappenedSchema, { subjectId: rolledBackSubject })
        ).eventId;
        throw new Error('abort');
      })
      .catch(() => undefined);
    const [committed] = await commitEvents(outbox, 1);

    await eventually(() => expect(received).toContain(committed));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toEqual([committed]);
    expect(received).not.toContain(rolledBackId);
    const { rowCount } = await db.query('SELECT 1 FROM outbox WHERE event_id = $1', [rolledBackId]);
    expect(rowCount).toBe(0);
  });

  test('when events were committed while no relay ran, then a relay publishes them at its start', async () => {
    const { bus, prefix, received } = await natsWithConsumer();
    const outbox = new Outbox(prefix); // no relay attached: the rows are due at once
    const ids = await commitEvents(outbox, 3);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(received).toEqual([]);

    startRelay(relayDatabase(), bus, outbox);
    await eventually(() => expect(received).toEqual(ids), { timeoutMs: 3000 });
    await eventually(async () => expect(await unpublished(ids)).toBe(0));
  });

  test('when a relay crashes between commit and publish, then another relay leaves its rows alone during the lease and publishes them when it runs out', async () => {
    const { bus, prefix, received } = await natsWithConsumer();
    const outbox = new Outbox(prefix);
    // The rows are leased to a relay that dies before publishing anything it is handed.
    outbox.handOffTo({ handoffLeaseMs: 1500, handoff: () => {} });
    const written = Date.now();
    const ids = await commitEvents(outbox, 3);

    // A safety interval of a minute: only the lease's end can make it look again.
    startedRelay(new OutboxRelay(relayDatabase(), bus, log, relayOptions()));
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(received).toEqual([]);

    await eventually(() => expect(received).toEqual(ids), { timeoutMs: 5000, intervalMs: 50 });
    expect(Date.now() - written).toBeGreaterThanOrEqual(1500);
    await eventually(async () => expect(await unpublished(ids)).toBe(0));
  });

  test('when the broker refuses publishes for a while, then each event is retried and reaches the consumer exactly once', async () => {
    const { bus, prefix, received } = await natsWithConsumer();
    const refusing = refusingFirst(bus, 3);
    const outbox = new Outbox(prefix);
    startRelay(relayDatabase(), refusing, outbox);

    const ids = await commitEvents(outbox, 5);
    // Retried from the recorded next attempt (retryBaseMs), not from the minute-long safety interval.
    await eventually(() => expect([...received].sort()).toEqual([...ids].sort()), {
      timeoutMs: 5000,
    });
    await eventually(async () => expect(await unpublished(ids)).toBe(0));
    const { rows } = await db.query<{ attempts: number; last_error: string | null }>(
      'SELECT attempts, last_error FROM outbox WHERE event_id = ANY($1::uuid[]) ORDER BY seq',
      [ids],
    );
    expect(rows.filter((r) => r.attempts > 1)).toHaveLength(3);
    expect(rows.filter((r) => r.last_error?.includes('broker unavailable'))).toHaveLength(3);
    expect(refusing.attempts).toBe(8);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(received).toHaveLength(5);
  });

  test('when events commit one after another, then the consumer receives them in commit order', async () => {
    const { bus, prefix, received } = await natsWithConsumer();
    const outbox = new Outbox(prefix);
    startRelay(relayDatabase(), bus, outbox);

    const ids = await commitEvents(outbox, 100);
    await eventually(() => expect(received).toHaveLength(100), { timeoutMs: 10_000 });
    expect(received).toEqual(ids);
  });

  test('when the relay is idle, then it sends no statement a second', async () => {
    const relayDb = relayDatabase();
    startRelay(relayDb, new MemoryBus(), new Outbox());
    await eventually(() => expect(relayDb.counted).toBeGreaterThan(0)); // the start pass
    await new Promise((resolve) => setTimeout(resolve, 500));

    const before = relayDb.counted;
    await new Promise((resolve) => setTimeout(resolve, 4000));
    expect(relayDb.counted - before).toBeLessThanOrEqual(1);
  });

  test('when 200 events commit at once, then the relay marks them published with few statements', async () => {
    const { bus, prefix, received } = await natsWithConsumer();
    const relayDb = relayDatabase();
    const outbox = new Outbox(prefix);
    startRelay(relayDb, bus, outbox);
    await eventually(() => expect(relayDb.counted).toBeGreaterThan(0)); // the start pass
    const before = relayDb.counted;

    // Each event in its own transaction, up to 20 at once.
    const ids = (
      await Promise.all(
        Array.from({ length: 200 }, () =>
          db.transaction((tx) => outbox.add(tx, SampleHappenedSchema, { subjectId: randomUUID() })),
        ),
      )
    ).map((event) => event.eventId);
    await eventually(async () => expect(await unpublished(ids)).toBe(0), { timeoutMs: 10_000 });
    const statements = relayDb.counted - before;
    expect(statements).toBeLessThan(20);
    await eventually(() => expect(received).toHaveLength(200));
  });

  test('when telemetry is on, then the publish continues the writer’s trace and the backlog gauge follows the unpublished events', async () => {
    const platform = parseConfigSection(
      platformConfigSchema,
      loadConfigDocument({ argv: [], env: {}, overrides: { logLevel: 'silent' } }).document,
    );
    const telemetry = createTelemetry({ service: 'relay-test', platform });
    opened.push({ close: () => telemetry.shutdown() });
    const backlog = platformInstruments(telemetry.meter).outboxBacklog;
    const memory = new MemoryBus();
    const prefix = `relaytrace${randomUUID().slice(0, 8)}`;
    const traceparents: string[] = [];
    const sub = await memory.subscribe(
      {
        name: 'test.relay-trace',
        subjects: [`${prefix}.platformtest.v1.SampleHappened`],
        maxDeliver: 1,
        ackWaitMs: 5000,
        retryBackoffMs: [0],
        concurrency: 1,
      },
      (delivery) => {
        traceparents.push(delivery.headers.traceparent ?? '');
        return Promise.resolve();
      },
    );
    // Refuses every publish until opened: the events stay unpublished meanwhile.
    let open = false;
    const gated = Object.create(memory) as Bus;
    gated.publish = (messages) =>
      open ? memory.publish(messages) : Promise.reject(new Error('broker unavailable'));
    const outbox = new Outbox(prefix);
    const relay = startedRelay(
      new OutboxRelay(relayDatabase(), gated, log, relayOptions(), { telemetry, system: 'memory' }),
    );
    outbox.handOffTo(relay);
    await eventually(() => expect(backlog.value).toBe(0));

    const traceId = await telemetry.inSpan('write', {}, async () => {
      await commitEvents(outbox, 3);
      return trace.getActiveSpan()?.spanContext().traceId;
    });
    await eventually(() => expect(backlog.value).toBe(3));
    open = true;
    await eventually(() => expect(traceparents).toHaveLength(3), { timeoutMs: 5000 });
    for (const traceparent of traceparents) expect(traceparent.split('-')[1]).toBe(traceId);
    await eventually(() => expect(backlog.value).toBe(0), { timeoutMs: 5000 });
    await sub.stop();
  });
});
