import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OrderCancelledSchema, OrderConfirmedSchema } from '@orderly/order-contract/order_events';
import { CancellationReason } from '@orderly/order-contract/order_service';
import {
  MemoryBus,
  createLogger,
  newEvent,
  type ServiceConfig,
  type ServiceRuntime,
} from '@orderly/platform';
import {
  dropTestDatabase,
  recordTransactions,
  startTestService,
  testServiceConfig,
} from '@orderly/platform/testing';
import {
  notificationConfigSchema,
  notificationService,
  type NotificationConfig,
} from '../src/service.js';
import { FileSender } from '../src/data-access/file-sender.js';
import { composeMessage } from '../src/domain/compose-message.js';
import type { CustomerMessage } from '../src/domain/notification.js';
import { notificationIdFor } from '../src/domain/notification-id.js';
import type { Sender } from '../src/domain/sender.js';

/**
 * The customer-messages subscription is batched: events that arrive together are recorded in one
 * transaction. These tests use the file sender (the default) behind a sender that can fail right
 * after the line was written, as a crash or a failed COMMIT between the append and the commit does.
 */

let dataDir: string;
let config: ServiceConfig<NotificationConfig>;
const bus = new MemoryBus();
let runtime: ServiceRuntime;
let file: string;
/** Every call of the service's sender, by order id. */
const sends: string[] = [];
/** Order ids whose next sends fail after writing the line (as many times as listed). */
const failAfterWriting: string[] = [];

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'orderly-notification-'));
  config = testServiceConfig('notification', notificationConfigSchema, { platform: { dataDir } });
  file = join(dataDir, config.service.outputFile);
  const fileSender = new FileSender(
    file,
    createLogger({ service: 'notification', level: 'silent' }),
  );
  const sender: Sender = {
    async send(message) {
      sends.push(message.orderId);
      await fileSender.send(message);
      const failure = failAfterWriting.indexOf(message.orderId);
      if (failure >= 0) {
        failAfterWriting.splice(failure, 1);
        throw new Error('connection lost before COMMIT');
      }
    },
  };
  ({ runtime } = await startTestService(notificationService, {
    config,
    bus,
    adapters: { sender },
  }));
});

afterAll(async () => {
  await runtime?.stop();
  await bus.close();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
  await rm(dataDir, { recursive: true, force: true });
});

const confirmation = (orderId: string = randomUUID()) =>
  newEvent(OrderConfirmedSchema, { orderId, customerId: `customer-${orderId}`, totalCents: 4599n });

async function linesOf(orderIds: readonly string[]): Promise<Map<string, number>> {
  const text = await readFile(file, 'utf8').catch(() => '');
  const counts = new Map(orderIds.map((id) => [id, 0]));
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const { orderId } = JSON.parse(line) as CustomerMessage;
    if (counts.has(orderId)) counts.set(orderId, counts.get(orderId)! + 1);
  }
  return counts;
}

async function recorded(
  orderIds: readonly string[],
): Promise<{ notifications: number; events: number }> {
  const { rows } = await runtime.db.query<{ notifications: number; events: number }>(
    `SELECT (SELECT count(*)::int FROM notifications WHERE order_id = ANY($1::text[])) AS notifications,
            (SELECT count(*)::int FROM outbox WHERE event_type = 'notification.v1.CustomerNotified') AS events`,
    [orderIds],
  );
  return rows[0]!;
}

/** Queries (round trips) sent in the consumer's transactions, BEGIN with the inbox insert to COMMIT. */
/** Round trips of the service's consumer transactions (BEGIN with the inbox rows … COMMIT). */
function countConsumerQueries(database: string): { count(): number; stop(): void } {
  const recorder = recordTransactions(database);
  return { count: () => recorder.consumerStatements(), stop: () => recorder.stop() };
}

describe('notification.customer-messages, batched', () => {
  test('when a batch is rolled back after its lines were written, and an event is redelivered, then each customer has one line', async () => {
    const events = [confirmation(), confirmation(), confirmation()];
    const [first, second, last] = events.map((e) => e.message.orderId) as [string, string, string];
    // The last one fails after writing its line twice: in the batch (which is rolled back and
    // applied again event by event) and alone (so the bus redelivers it).
    failAfterWriting.push(last, last);
    const eventsBefore = (await recorded([])).events;

    // One publish: the consumer receives them together, as one batch.
    await bus.publish(events.map((e) => e.bus));

    expect(sends.filter((id) => id === first)).toHaveLength(2);
    expect(sends.filter((id) => id === last)).toHaveLength(3);
    expect(await linesOf([first, second, last])).toEqual(
      new Map([
        [first, 1],
        [second, 1],
        [last, 1],
      ]),
    );
    expect(await recorded([first, second, last])).toEqual({
      notifications: 3,
      events: eventsBefore + 3,
    });
  });

  test('when a line was written but its transaction never committed (a crash) and the service restarted, then the redelivered event is recorded and writes no second line', async () => {
    const orderId = randomUUID();
    const cancelled = newEvent(OrderCancelledSchema, {
      orderId,
      customerId: 'customer-9',
      reason: CancellationReason.PAYMENT_DECLINED,
    });
    // What the process before the restart wrote just before it died: the same message and id.
    await new FileSender(file, createLogger({ service: 'notification', level: 'silent' })).send({
      notificationId: notificationIdFor(orderId),
      orderId,
      customerId: 'customer-9',
      kind: 'ORDER_CANCELLED',
      text: composeMessage('ORDER_CANCELLED', orderId, 'PAYMENT_DECLINED'),
    });

    await bus.publish([cancelled.bus]);

    expect(await linesOf([orderId])).toEqual(new Map([[orderId, 1]]));
    expect((await recorded([orderId])).notifications).toBe(1);
  });

  test('when a batch holds an event without order id, then it alone is dead-lettered and the others notify once', async () => {
    const good = [confirmation(), confirmation()];
    const poisoned = confirmation('');

    await bus.publish([good[0]!.bus, poisoned.bus, good[1]!.bus]);

    const orderIds = good.map((e) => e.message.orderId);
    expect(await linesOf(orderIds)).toEqual(new Map(orderIds.map((id) => [id, 1])));
    expect((await recorded(orderIds)).notifications).toBe(2);
    expect(await bus.listDeadLetters()).toContainEqual(
      expect.objectContaining({
        subscription: 'notification.customer-messages',
        eventId: poisoned.message.eventId,
      }),
    );
  });

  test('when 48 orders end together, then the consumer sends far fewer queries than one transaction per event did', async () => {
    const events = Array.from({ length: 48 }, () => confirmation());
    const counter = countConsumerQueries(config.service.database);
    try {
      await bus.publish(events.map((e) => e.bus));
      // One event per transaction took 4 round trips: BEGIN with the inbox insert, the
      // notification, the outbox, COMMIT.
      expect(counter.count() / events.length).toBeLessThanOrEqual(1);
    } finally {
      counter.stop();
    }
    const orderIds = events.map((e) => e.message.orderId);
    expect(await linesOf(orderIds)).toEqual(new Map(orderIds.map((id) => [id, 1])));
  });
});
