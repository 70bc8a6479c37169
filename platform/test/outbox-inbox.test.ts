import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { randomUUID } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  busHeaders,
  Database,
  MemoryBus,
  Outbox,
  connectNatsBus,
  createLogger,
  newEvent,
  type Bus,
  type BusMessage,
} from '../src/index.js';
import { ensureDatabase, platformMigrations } from '../src/db/index.js';
import { on, startEventConsumer } from '../src/inbox/index.js';
import { OutboxRelay } from '../src/outbox/index.js';
import { dropTestDatabase, eventually, uniqueName } from '../src/testing/index.js';

import { SampleHappenedSchema } from './sample-event.js';

/**
 * The outbox and inbox on real PostgreSQL (and NATS for redrive): events commit with the state
 * change, are published until acknowledged, and are applied once per subscription.
 */

const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env.ORDERLY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';
const log = createLogger({ service: 'test', level: 'silent' });
const name = uniqueName('orderly_test_platform_outbox');
let db: Database;
const relayOptions = {
  batchSize: 50,
  handoffLeaseMs: 10_000,
  maxInFlight: 64,
  maxQueued: 10_000,
  markDelayMs: 10,
  safetyIntervalMs: 30_000,
  retryBaseMs: 20,
  retryMaxMs: 100,
  retentionMs: 60_000,
  cleanupIntervalMs: 60_000,
  claimLeaseMs: 10_000,
};
const consumerOptions = {
  maxDeliver: 3,
  ackWaitMs: 10_000,
  retryBackoffMs: [10, 20],
  concurrency: 4,
  subjectPrefix: 'events',
};

beforeAll(async () => {
  await ensureDatabase(serverUrl, name, 5000);
  db = new Database(
    {
      url: serverUrl,
      database: name,
      poolSize: 5,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5000,
      idleTimeoutMs: 10_000,
      applicationName: 'test',
    },
    log,
  );
  await db.migrate([platformMigrations]);
  await db.query('CREATE TABLE effects (event_id text, order_id text)');
});
afterAll(async () => {
  await db?.close();
  await dropTestDatabase(serverUrl, name);
});

/** A bus that refuses the first `failures` publishes, as a broker outage would. */
function flakyBus(inner: Bus, failures: number): Bus & { attempts: number } {
  const flaky = Object.create(inner) as Bus & { attempts: number };
  flaky.attempts = 0;
  flaky.publish = async (messages: readonly BusMessage[]) => {
    flaky.attempts++;
    if (flaky.attempts <= failures) throw new Error('broker unavailable');
    return inner.publish(messages);
  };
  return flaky;
}

/** Subscribes to the sample event on `memory` and collects the ids of what it delivers. */
async function receivedOn(memory: MemoryBus, subscription: string) {
  const received: string[] = [];
  const sub = await memory.subscribe(
    {
      name: subscription,
      subjects: ['events.platformtest.v1.SampleHappened'],
      maxDeliver: 1,
      ackWaitMs: 5000,
      retryBackoffMs: [0],
      concurrency: 1,
    },
    (d) => {
      received.push(d.id);
      return Promise.resolve();
    },
  );
  return { received, sub };
}

/**
 * A bus that remembers no message id (a duplicate window of zero, as when a repeat comes later than
 * the broker's window), so a repeat reaches the consumer and only its inbox can skip it. Counts
 * what it hands the consumer.
 */
function busWithoutDuplicateWindow(): { bus: Bus; delivered: () => number } {
  const memory = new MemoryBus({ duplicateWindowSize: 0 });
  let delivered = 0;
  const bus = Object.create(memory) as Bus;
  bus.subscribe = (options, handler) =>
    memory.subscribe(options, (delivery) => {
      delivered++;
      return handler(delivery);
    });
  return { bus, delivered: () => delivered };
}

/** A logger at debug level that keeps the event ids of the "duplicate event skipped" lines. */
function recordingLog() {
  const skipped: string[] = [];
  const logger = createLogger({
    service: 'test',
    level: 'debug',
    destination: {
      write: (line: string) => {
        const entry = JSON.parse(line) as { msg?: string; eventId?: string };
        if (entry.msg === 'duplicate event skipped') skipped.push(entry.eventId ?? '');
      },
    },
  });
  return { logger, skipped };
}

describe('outbox', () => {
  test('when the transaction rolls back, then its event is never published', async () => {
    const outbox = new Outbox();
    await db
      .transaction(async (tx) => {
        await outbox.add(tx, SampleHappenedSchema, { subjectId: 'rolled-back' });
        throw new Error('abort');
      })
      .catch(() => undefined);
    expect(
      (
        await db.query(
          "SELECT 1 FROM outbox WHERE payload IS NOT NULL AND headers::text LIKE '%rolled-back%'",
        )
      ).rowCount,
    ).toBe(0);
  });

  test('when the bus refuses publishes for a while, then the relay retries until the event is delivered once', async () => {
    const memory = new MemoryBus();
    const bus = flakyBus(memory, 3);
    const { received, sub } = await receivedOn(memory, 'test.outbox');
    const relay = new OutboxRelay(db, bus, log, relayOptions);
    relay.start();
    const outbox = new Outbox();
    outbox.handOffTo(relay);
    const event = await db.transaction((tx) =>
      outbox.add(tx, SampleHappenedSchema, { subjectId: randomUUID() }),
    );
    await eventually(() => expect(received).toContain(event.eventId));
    // Marked published only after the bus accepted it.
    await eventually(async () => {
      const { rows } = await db.query<{ attempts: number; published_at: Date | null }>(
        'SELECT attempts, published_at FROM outbox WHERE event_id = $1',
        [event.eventId],
      );
      expect(rows[0]?.published_at).not.toBeNull();
      expect(rows[0]?.attempts).toBeGreaterThan(1);
    });
    expect(received.filter((id) => id === event.eventId)).toHaveLength(1);
    await relay.stop();
    await sub.stop();
  });

  test('when a relay dies after claiming events, then no other relay takes them during its lease, and one does after it', async () => {
    const memory = new MemoryBus();
    const { received, sub } = await receivedOn(memory, 'test.outbox-lease');
    const outbox = new Outbox();
    const event = await db.transaction((tx) =>
      outbox.add(tx, SampleHappenedSchema, { subjectId: randomUUID() }),
    );
    // The first relay claims the row and then hangs in publish, as a process killed mid-publish would.
    const hung: Bus = Object.create(memory) as Bus;
    hung.publish = () => new Promise<void>(() => {});
    const dying = new OutboxRelay(db, hung, log, { ...relayOptions, claimLeaseMs: 1500 });
    void dying.publishDue();
    await eventually(async () => {
      const { rows } = await db.query<{ claimed: boolean }>(
        'SELECT next_attempt_at > clock_timestamp() AS claimed FROM outbox WHERE event_id = $1',
        [event.eventId],
      );
      expect(rows[0]?.claimed).toBe(true);
    });
    const successor = new OutboxRelay(db, memory, log, relayOptions);
    expect(await successor.publishDue()).toBe(0);
    expect(received).not.toContain(event.eventId);

    await eventually(async () => expect(await successor.publishDue()).toBeGreaterThan(0), {
      timeoutMs: 5000,
      intervalMs: 100,
    });
    expect(received.filter((id) => id === event.eventId)).toHaveLength(1);
    const { rows } = await db.query<{ published_at: Date | null }>(
      'SELECT published_at FROM outbox WHERE event_id = $1',
      [event.eventId],
    );
    expect(rows[0]?.published_at).not.toBeNull();
    await sub.stop();
  });
});

describe('inbox and dead letters on NATS JetStream', () => {
  test('when a handler keeps failing, then the event is dead-lettered, and after a fix a redrive applies it once', async () => {
    const id = randomUUID().slice(0, 8);
    const bus = await connectNatsBus({
      servers: natsUrl,
      stream: `TEST_INBOX_${id}`,
      deadLetterStream: `TEST_INBOX_DL_${id}`,
      duplicateWindowMs: 60_000,
      subjects: [`inbox${id}.>`],
      deadLetterSubjectPrefix: `inbox${id}dl`,
    });
    let broken = true;
    const sub = await startEventConsumer(
      { bus, db, log },
      'test.apply-once',
      [
        on(SampleHappenedSchema, async (tx, event, context) => {
          if (broken) throw new Error('downstream bug');
          await tx.query('INSERT INTO effects VALUES ($1, $2)', [context.eventId, event.subjectId]);
        }),
      ],
      { ...consumerOptions, subjectPrefix: `inbox${id}` },
    );
    const orderId = randomUUID();
    const event = newEvent(
      SampleHappenedSchema,
      { subjectId: orderId },
      new Date(),
      {},
      `inbox${id}`,
    );
    await bus.publish([event.bus]);
    const letter = await eventually(async () => {
      const letters = await bus.listDeadLetters();
      expect(letters).toHaveLength(1);
      return letters[0]!;
    });
    expect(letter).toMatchObject({
      subscription: 'test.apply-once',
      eventId: event.bus.id,
      attempts: 3,
    });
    expect(letter.error).toContain('downstream bug');

    broken = false;
    expect(await bus.redriveDeadLetters()).toBe(1);
    await eventually(async () =>
      expect(
        (await db.query('SELECT 1 FROM effects WHERE order_id = $1', [orderId])).rowCount,
      ).toBe(1),
    );
    expect(await bus.listDeadLetters()).toEqual([]);
    expect(await bus.redriveDeadLetters()).toBe(0);
    expect((await db.query('SELECT 1 FROM effects WHERE order_id = $1', [orderId])).rowCount).toBe(
      1,
    );
    await sub.stop();
    await bus.close();
    const nc = await connect({ servers: natsUrl });
    const jsm = await jetstreamManager(nc);
    for (const stream of [`TEST_INBOX_${id}`, `TEST_INBOX_DL_${id}`])
      await jsm.streams.delete(stream);
    await nc.close();
  });
});

describe('inbox', () => {
  test('when an event id holds quotes and backslashes, then the inbox records it verbatim and its redelivery is skipped', async () => {
    const { bus, delivered } = busWithoutDuplicateWindow();
    const recorded = recordingLog();
    let handled = 0;
    const prefix = `quoted${randomUUID().slice(0, 8)}`;
    const subjectId = randomUUID();
    const sub = await startEventConsumer(
      { bus, db, log: recorded.logger },
      "test.quoted'sub",
      [
        on(SampleHappenedSchema, async (tx, event, context) => {
          handled++;
          await tx.query('INSERT INTO effects VALUES ($1, $2)', [context.eventId, event.subjectId]);
        }),
      ],
      { ...consumerOptions, subjectPrefix: prefix },
    );
    const event = newEvent(SampleHappenedSchema, { subjectId }, new Date(), {}, prefix);
    const awkwardId = `it's a \\'; DROP TABLE inbox; -- ${randomUUID()}`;
    const message = {
      ...event.bus,
      id: awkwardId,
      headers: { ...event.bus.headers, [busHeaders.eventId]: awkwardId },
    };

    await bus.publish([message]);
    await bus.publish([message]);

    // The repeat reached the consumer; its inbox row made it skip the handler.
    expect(delivered()).toBe(2);
    expect(handled).toBe(1);
    expect(recorded.skipped).toEqual([awkwardId]);
    const { rows } = await db.query<{ event_id: string }>(
      'SELECT event_id FROM effects WHERE order_id = $1',
      [subjectId],
    );
    expect(rows.map((r) => r.event_id)).toEqual([awkwardId]);
    const inbox = await db.query<{ subscription: string }>(
      'SELECT subscription FROM inbox WHERE event_id = $1',
      [awkwardId],
    );
    expect(inbox.rows).toEqual([{ subscription: "test.quoted'sub" }]);
    await sub.stop();
  });
});

describe('batched inbox', () => {
  const batch = () => ({ maxBatch: 64, maxInFlight: 2 });

  test('when many events arrive together, then they are applied in shared transactions, each exactly once', async () => {
    const { bus, delivered } = busWithoutDuplicateWindow();
    const recorded = recordingLog();
    const transactionIds = new Set<string>();
    let handled = 0;
    const prefix = `batch${randomUUID().slice(0, 8)}`;
    const sub = await startEventConsumer(
      { bus, db, log: recorded.logger },
      'test.batched',
      [
        on(SampleHappenedSchema, async (tx, event, context) => {
          handled++;
          const { rows } = await tx.query<{ xid: string }>('SELECT txid_current()::text AS xid');
          transactionIds.add(rows[0]!.xid);
          await tx.query('INSERT INTO effects VALUES ($1, $2)', [context.eventId, event.subjectId]);
        }),
      ],
      { ...consumerOptions, concurrency: 32, subjectPrefix: prefix, batch },
    );
    const subjectId = randomUUID();
    const events = Array.from({ length: 200 }, () =>
      newEvent(SampleHappenedSchema, { subjectId }, new Date(), {}, prefix),
    );
    await Promise.all(events.map((e) => bus.publish([e.bus])));
    // Every event again, in batches too: each repeat reaches the consumer and finds its inbox row.
    await Promise.all(events.map((e) => bus.publish([e.bus])));

    expect(delivered()).toBe(400);
    expect(handled).toBe(200);
    expect([...recorded.skipped].sort()).toEqual(events.map((e) => e.bus.id).sort());
    const { rows } = await db.query<{ n: number; distinct: number }>(
      'SELECT count(*)::int AS n, count(DISTINCT event_id)::int AS distinct FROM effects WHERE order_id = $1',
      [subjectId],
    );
    expect(rows[0]).toEqual({ n: 200, distinct: 200 });
    expect(transactionIds.size).toBeLessThan(200);
    await sub.stop();
  });

  test('when one event of a batch fails, then the others still commit and only the failing one is retried', async () => {
    const bus = new MemoryBus();
    const prefix = `batchpoison${randomUUID().slice(0, 8)}`;
    const subjectId = randomUUID();
    const attemptsOfPoison: number[] = [];
    const sub = await startEventConsumer(
      { bus, db, log },
      'test.batched-poison',
      [
        on(SampleHappenedSchema, async (tx, event, context) => {
          await tx.query('INSERT INTO effects VALUES ($1, $2)', [context.eventId, event.subjectId]);
          if (event.subjectId === `${subjectId}-poison`) {
            attemptsOfPoison.push(context.attempt);
            throw new Error('cannot apply this one');
          }
        }),
      ],
      { ...consumerOptions, concurrency: 32, subjectPrefix: prefix, batch },
    );
    const good = Array.from({ length: 50 }, () =>
      newEvent(SampleHappenedSchema, { subjectId }, new Date(), {}, prefix),
    );
    const poison = newEvent(
      SampleHappenedSchema,
      { subjectId: `${subjectId}-poison` },
      new Date(),
      {},
      prefix,
    );
    await Promise.all(
      [...good.slice(0, 25), poison, ...good.slice(25)].map((e) =>
        bus.publish([e.bus]).catch(() => undefined),
      ),
    );
    await eventually(async () =>
      expect(
        (await db.query('SELECT 1 FROM effects WHERE order_id = $1', [subjectId])).rowCount,
      ).toBe(50),
    );
    await eventually(() =>
      expect(attemptsOfPoison.length).toBeGreaterThanOrEqual(consumerOptions.maxDeliver),
    );
    // The poison event's effects never committed; it went to the dead letters after its attempts.
    expect(
      (await db.query('SELECT 1 FROM effects WHERE order_id = $1', [`${subjectId}-poison`]))
        .rowCount,
    ).toBe(0);
    await eventually(async () =>
      expect((await bus.listDeadLetters()).map((l) => l.eventId)).toContain(poison.bus.id),
    );
    await sub.stop();
  });
});
