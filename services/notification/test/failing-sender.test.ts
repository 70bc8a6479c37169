import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { OrderConfirmedSchema } from '@orderly/order-contract/order_events';
import { MemoryBus, newEvent, type ServiceConfig, type ServiceRuntime } from '@orderly/platform';
import { dropTestDatabase, startTestService, testServiceConfig } from '@orderly/platform/testing';
import {
  notificationConfigSchema,
  notificationService,
  type NotificationConfig,
} from '../src/service.js';
import type { CustomerMessage } from '../src/domain/notification.js';
import type { Sender } from '../src/domain/sender.js';

let dataDir: string;
let config: ServiceConfig<NotificationConfig>;
const bus = new MemoryBus();
let runtime: ServiceRuntime;
const sent: CustomerMessage[] = [];
/** Orders whose first send fails. */
const failFirstSendFor = new Set<string>();

const sender: Sender = {
  send(message) {
    if (failFirstSendFor.delete(message.orderId))
      return Promise.reject(new Error('sink unavailable'));
    sent.push(message);
    return Promise.resolve();
  },
};

beforeAll(async () => {
  dataDir = await mkdtemp(join(tmpdir(), 'orderly-notification-'));
  config = testServiceConfig('notification', notificationConfigSchema, { platform: { dataDir } });
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

describe('notification.customer-messages with a failing sender', () => {
  test('when the send fails, then nothing is recorded, the event is retried and the customer is notified once', async () => {
    const orderId = randomUUID();
    failFirstSendFor.add(orderId);
    const event = newEvent(OrderConfirmedSchema, {
      orderId,
      customerId: 'customer-7',
      totalCents: 100n,
    });

    // Resolves once the consumer settled the event, retries included.
    await bus.publish([event.bus]);

    expect(failFirstSendFor.has(orderId)).toBe(false);
    expect(sent.filter((m) => m.orderId === orderId)).toHaveLength(1);
    const { rows } = await runtime.db.query('SELECT kind FROM notifications WHERE order_id = $1', [
      orderId,
    ]);
    expect(rows).toEqual([{ kind: 'ORDER_CONFIRMED' }]);
    const { rows: attempts } = await runtime.db.query<{ count: string }>(
      'SELECT count(*) FROM outbox WHERE event_type = $1',
      ['notification.v1.CustomerNotified'],
    );
    expect(attempts).toEqual([{ count: '1' }]);
  });
});
