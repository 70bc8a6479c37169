import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { Database, MemoryBus, createLogger, newEvent, onBatch, onBatchOf } from '../src/index.js';
import { ensureDatabase, platformMigrations } from '../src/db/index.js';
import { startEventConsumer } from '../src/inbox/index.js';
import { dropTestDatabase, eventually, uniqueName } from '../src/testing/index.js';
import { SampleEndedSchema, SampleHappenedSchema } from './sample-event.js';

/**
 * Set-based batch handlers on real PostgreSQL: a run of consecutive events goes to one handler
 * call (several types when they share one with onBatchOf), and a batch that failed is applied
 * again one event at a time in delivery order.
 */
const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const log = createLogger({ service: 'test', level: 'silent' });
const name = uniqueName('orderly_test_platform_batches');
let db: Database;
const consumerOptions = {
  maxDeliver: 2,
  ackWaitMs: 10_000,
  retryBackoffMs: [10],
  concurrency: 64,
};
// One batch at a time: batches apply in delivery order, so the order of effects is observable.
const oneBatchAtATime = () => ({ maxBatch: 64, maxInFlight: 1 });

beforeAll(async () => {
  await ensureDatabase(serverUrl, name, 5000);
  db = new Database(
    {
      url: serverUrl,
      database: name,
      poolSize: 8,
      statementTimeoutMs: 10_000,
      connectTimeoutMs: 5000,
      idleTimeoutMs: 10_000,
      applicationName: 'test',
    },
    log,
  );
  await db.migrate([platformMigrations]);
  await db.query('CREATE TABLE applied (seq bigserial PRIMARY KEY, subject text, n int)');
});
afterAll(async () => {
  await db?.close();
  await dropTestDatabase(serverUrl, name);
});

const numbered = (prefix: string, subject: string, count: number) =>
  Array.from({ length: count }, (_, n) =>
    newEvent(SampleHappenedSchema, { subjectId: `${subject}:${n}` }, new Date(), {}, prefix),
  );

describe('set-based batch handlers', () => {
  test('when events of two types that share a handler arrive together, then they reach it as mixed runs, each event once', async () => {
    const bus = new MemoryBus();
    const prefix = `mixed${randomUUID().slice(0, 8)}`;
    const runs: string[][] = [];
    const sub = await startEventConsumer(
      { bus, db, log },
      'test.mixed-types',
      onBatchOf([SampleHappenedSchema, SampleEndedSchema], async (_tx, items) => {
        runs.push(items.map((item) => item.event.$typeName));
        return Promise.resolve();
      }),
      { ...consumerOptions, subjectPrefix: prefix, batch: oneBatchAtATime },
    );
    const events = Array.from({ length: 40 }, (_, n) =>
      newEvent(
        n % 2 === 0 ? SampleHappenedSchema : SampleEndedSchema,
        { subjectId: String(n) },
        new Date(),
        {},
        prefix,
      ),
    );
    await Promise.all(events.map((e) => bus.publish([e.bus])));
    await eventually(() => expect(runs.flat()).toHaveLength(40));
    expect(runs.some((run) => new Set(run).size === 2)).toBe(true);
    await sub.stop();
  });

  test('when a batch fails because of one event, then the others are applied again one at a time, in delivery order', async () => {
    const bus = new MemoryBus();
    const prefix = `ordered${randomUUID().slice(0, 8)}`;
    const subject = randomUUID();
    const sub = await startEventConsumer(
      { bus, db, log },
      'test.ordered-replay',
      [
        onBatch(SampleHappenedSchema, async (tx, items) => {
          for (const { event } of items) {
            const [id, n] = event.subjectId.split(':');
            if (n === 'poison') throw new Error('cannot apply this one');
            // One statement per event on purpose: concurrent replays would interleave them.
            await tx.query('INSERT INTO applied (subject, n) VALUES ($1, $2)', [id, Number(n)]);
          }
        }),
      ],
      { ...consumerOptions, subjectPrefix: prefix, batch: oneBatchAtATime },
    );
    const good = numbered(prefix, subject, 40);
    const poison = newEvent(
      SampleHappenedSchema,
      { subjectId: `${subject}:poison` },
      new Date(),
      {},
      prefix,
    );
    await Promise.all(
      [...good.slice(0, 5), poison, ...good.slice(5)].map((e) =>
        bus.publish([e.bus]).catch(() => undefined),
      ),
    );
    await eventually(async () =>
      expect((await db.query('SELECT 1 FROM applied WHERE subject = $1', [subject])).rowCount).toBe(
        40,
      ),
    );
    const { rows } = await db.query<{ n: number }>(
      'SELECT n FROM applied WHERE subject = $1 ORDER BY seq',
      [subject],
    );
    expect(rows.map((r) => r.n)).toEqual(Array.from({ length: 40 }, (_, n) => n));
    await sub.stop();
  });
});
