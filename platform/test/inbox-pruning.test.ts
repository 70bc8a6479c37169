import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { z } from 'zod';
import { SampleHappenedSchema } from './sample-event.js';
import { MemoryBus, newEvent, ServiceRuntime, type BusMessage } from '../src/index.js';
import { on } from '../src/inbox/index.js';
import { dropTestDatabase, eventually, testServiceConfig } from '../src/testing/index.js';

/**
 * Issue 13 §5: the inbox no longer grows without bound. Rows older than `inbox.retentionMs` are
 * deleted in batches by a periodic task; the retention must exceed the bus's redelivery horizon,
 * and an event redelivered within it is still recognised and skipped.
 */
const serverUrl =
  process.env.ORDERLY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dir = mkdtempSync(join(tmpdir(), 'orderly-inbox-pruning-'));
const migrations = join(dir, 'migrations');
mkdirSync(migrations);
writeFileSync(
  join(migrations, '0001_applications.sql'),
  'CREATE TABLE applications (n serial PRIMARY KEY, event_id text NOT NULL);',
);
// Not strict: the test config helper adds the keys every service section has.
const schema = z.object({ port: z.coerce.number(), database: z.string() });
const cleanups: (() => Promise<unknown>)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  rmSync(dir, { recursive: true, force: true });
});

describe('inbox pruning', () => {
  test('when inbox.retentionMs is not above the redelivery horizon, then the configuration is refused naming the key', () => {
    expect(() =>
      testServiceConfig('probe', schema, { platform: { inbox: { retentionMs: 60_000 } } }),
    ).toThrow(/inbox\.retentionMs: value 60000 is invalid: must be above the redelivery horizon/);
  });

  test('when inbox rows are older than the retention, then they are deleted in batches, recent ones kept, and a redelivery within the horizon is still skipped', async () => {
    // Arrange: a service whose bus forgets message ids at once, so a second publish is a real redelivery.
    const config = testServiceConfig('probe', schema, {
      platform: { inbox: { retentionMs: 300_000, cleanupIntervalMs: 100, cleanupBatchSize: 2 } },
    });
    const bus = new MemoryBus({ duplicateWindowSize: 0 });
    const runtime = await ServiceRuntime.create({
      name: 'probe',
      platform: config.platform,
      http: { host: '127.0.0.1', port: 0 },
      database: { name: config.service.database, migrationsPath: migrations },
      bus,
    });
    cleanups.push(() => dropTestDatabase(serverUrl, config.service.database));
    cleanups.push(() => runtime.stop());
    runtime.consume('probe.applications', [
      on(SampleHappenedSchema, async (tx, _event, context) => {
        await tx.query('INSERT INTO applications (event_id) VALUES ($1)', [context.eventId]);
      }),
    ]);
    await runtime.start();
    const events: BusMessage[] = [];
    for (let i = 0; i < 6; i++)
      events.push(
        newEvent(
          SampleHappenedSchema,
          { subjectId: `s${i}` },
          new Date(),
          {},
          config.platform.bus.subjectPrefix,
        ).bus,
      );
    await bus.publish(events);
    const inboxIds = async () =>
      (
        await runtime.db.query<{ event_id: string }>(
          "SELECT event_id FROM inbox WHERE subscription = 'probe.applications' ORDER BY event_id",
        )
      ).rows.map((r) => r.event_id);
    await eventually(async () => expect(await inboxIds()).toHaveLength(6));
    const [recent, ...old] = events.map((e) => e.id);
    // Act: five rows age past the retention (an hour old); one stays inside it (four minutes old).
    await runtime.db.query(
      "UPDATE inbox SET processed_at = now() - interval '1 hour' WHERE event_id = ANY($1)",
      [old],
    );
    await runtime.db.query(
      "UPDATE inbox SET processed_at = now() - interval '4 minutes' WHERE event_id = $1",
      [recent],
    );

    // Assert: the old rows go (in batches of two), the recent one stays.
    await eventually(async () => expect(await inboxIds()).toEqual([recent]), { timeoutMs: 10_000 });
    // A redelivery of the recent event finds its row and is skipped: applied once in all.
    await bus.publish([events[0]!]);
    const applications = await runtime.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM applications WHERE event_id = $1',
      [recent],
    );
    expect(applications.rows[0]?.n).toBe(1);
    expect(await inboxIds()).toEqual([recent]);
    // What the horizon guards against: a redelivery after its row was pruned is applied again.
    await bus.publish([events[1]!]);
    const twice = await runtime.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM applications WHERE event_id = $1',
      [old[0]],
    );
    expect(twice.rows[0]?.n).toBe(2);
    // The delete has its index.
    expect(
      (
        await runtime.db.query(
          "SELECT 1 FROM pg_indexes WHERE tablename = 'inbox' AND indexname = 'inbox_processed_at'",
        )
      ).rowCount,
    ).toBe(1);
  }, 30_000);
});
