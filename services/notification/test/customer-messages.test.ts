import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBinary } from '@bufbuild/protobuf';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OrderCancelledSchema, OrderConfirmedSchema } from '@orderly/order-contract/order_events';
import { CancellationReason } from '@orderly/order-contract/order_service';
import {
  MemoryBus,
  busHeaders,
  eventSubject,
  newEvent,
  type ServiceConfig,
  type ServiceRuntime,
} from '@orderly/platform';
import {
  dropTestDatabase,
  eventually,
  recordEvents,
  startTestService,
  testServiceConfig,
} from '@orderly/platform/testing';
import {
  CustomerNotifiedSchema,
  NotificationKind,
} from '@orderly/notification-contract/notification_events';
import {
  notificationConfigSchema,
  notificationService,
  type NotificationConfig,
} from '../src/service.js';
import type { CustomerMessage } from '../src/domain/notification.js';

let dataDir: string;
let config: ServiceConfig<NotificationConfig>;
// A zero duplicate window makes the bus hand a re-published message to the consumers again, as a
// broker redelivery would, so the duplicate tests reach the service's inbox.
const bus = new MemoryBus({ duplicateWindowSize: 0 });
let runtime: ServiceRuntime;
let recorder: Awaited<ReturnType<typeof recordEvents>>;

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'orderly-notification-'));
  config = testServiceConfig('notification', notificationConfigSchema, { platform: { dataDir } });
  // The default sender: messages go to <dataDir>/<outputFile>.
  ({ runtime } = await startTestService(notificationService, { config, bus }));
  recorder = await recordEvents(bus, [CustomerNotifiedSchema]);
});

afterAll(async () => {
  await recorder?.stop();
  await runtime?.stop();
  await bus.close();
  await dropTestDatabase(config.platform.postgres.url, config.service.database);
  await rm(dataDir, { recursive: true, force: true });
});

const anOrderConfirmation = (orderId = randomUUID()) =>
  newEvent(OrderConfirmedSchema, {
    orderId,
    customerId: 'customer-7',
    totalCents: 4599n,
    reservationId: 'res-1',
  });

const anOrderCancellation = (orderId = randomUUID(), reason = CancellationReason.OUT_OF_STOCK) =>
  newEvent(OrderCancelledSchema, { orderId, customerId: 'customer-7', reason });

/** Resolves once every subscription (the service's consumer included) has settled the event. */
const publish = (event: { bus: Parameters<MemoryBus['publish']>[0][number] }) =>
  bus.publish([event.bus]);

async function fileLines(orderId: string): Promise<CustomerMessage[]> {
  let text = '';
  try {
    text = await readFile(join(dataDir, config.service.outputFile), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as CustomerMessage)
    .filter((message) => message.orderId === orderId);
}

async function notificationRows(
  orderId: string,
): Promise<{ kind: string; text: string; customer_id: string }[]> {
  const { rows } = await runtime.db.query<{ kind: string; text: string; customer_id: string }>(
    'SELECT kind, text, customer_id FROM notifications WHERE order_id = $1',
    [orderId],
  );
  return rows;
}

async function outboxCount(orderId: string): Promise<number> {
  const { rows } = await runtime.db.query<{ payload: Buffer }>(
    'SELECT payload FROM outbox WHERE event_type = $1',
    [CustomerNotifiedSchema.typeName],
  );
  return rows.filter(
    (row) => fromBinary(CustomerNotifiedSchema, new Uint8Array(row.payload)).orderId === orderId,
  ).length;
}

const notified = (orderId: string) =>
  recorder.of(CustomerNotifiedSchema).filter((e) => e.orderId === orderId);

describe('notification.customer-messages', () => {
  test('when an order is confirmed, then one notification is recorded, written to the file and CustomerNotified published', async () => {
    const event = anOrderConfirmation();
    const { orderId } = event.message;

    await publish(event);

    expect(await notificationRows(orderId)).toEqual([
      {
        kind: 'ORDER_CONFIRMED',
        customer_id: 'customer-7',
        text: expect.stringContaining('45.99') as string,
      },
    ]);
    const lines = await fileLines(orderId);
    expect(lines).toEqual([
      expect.objectContaining({ orderId, customerId: 'customer-7', kind: 'ORDER_CONFIRMED' }),
    ]);
    await eventually(() =>
      expect(notified(orderId)).toEqual([
        expect.objectContaining({
          orderId,
          customerId: 'customer-7',
          kind: NotificationKind.ORDER_CONFIRMED,
          notificationId: lines[0]?.notificationId,
        }),
      ]),
    );
  });

  test('when an order is cancelled, then one message mentioning the reason is sent', async () => {
    const event = anOrderCancellation(randomUUID(), CancellationReason.OUT_OF_STOCK);
    const { orderId } = event.message;

    await publish(event);

    const lines = await fileLines(orderId);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ kind: 'ORDER_CANCELLED' });
    expect(lines[0]?.text).toContain('out of stock');
    await eventually(() =>
      expect(notified(orderId)).toEqual([
        expect.objectContaining({ kind: NotificationKind.ORDER_CANCELLED }),
      ]),
    );
  });

  test('when the same event is delivered twice, then the customer is notified once', async () => {
    const event = anOrderConfirmation();
    const { orderId } = event.message;

    await publish(event);
    await publish(event);

    expect(await notificationRows(orderId)).toHaveLength(1);
    expect(await fileLines(orderId)).toHaveLength(1);
    expect(await outboxCount(orderId)).toBe(1);
  });

  test('when an order is confirmed and then (wrongly) cancelled, then only the first message is sent', async () => {
    const orderId = randomUUID();

    await publish(anOrderConfirmation(orderId));
    await publish(anOrderCancellation(orderId, CancellationReason.TIMED_OUT));

    expect(await notificationRows(orderId)).toEqual([
      expect.objectContaining({ kind: 'ORDER_CONFIRMED' }),
    ]);
    expect(await fileLines(orderId)).toEqual([
      expect.objectContaining({ kind: 'ORDER_CONFIRMED' }),
    ]);
    expect(await outboxCount(orderId)).toBe(1);
  });

  test('when the payload cannot be decoded, then the message ends in the dead letters and nothing is sent', async () => {
    const eventId = randomUUID();

    await bus.publish([
      {
        subject: eventSubject(OrderConfirmedSchema),
        id: eventId,
        data: new TextEncoder().encode('not a protobuf message'),
        headers: {
          [busHeaders.eventId]: eventId,
          [busHeaders.eventType]: OrderConfirmedSchema.typeName,
        },
      },
    ]);

    expect(await bus.listDeadLetters()).toContainEqual(
      expect.objectContaining({ eventId, subscription: 'notification.customer-messages' }),
    );
  });
});
