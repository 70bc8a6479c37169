import { describe, expect, test } from 'vitest';
import type { CustomerMessage, OrderOutcome } from '../src/domain/notification.js';
import type { Sender } from '../src/domain/sender.js';
import { notifyCustomers, type NotifyCustomersStore } from '../src/use-cases/notify-customers.js';

const now = new Date('2030-01-01T00:00:00Z');

const confirmed = (orderId: string): OrderOutcome => ({
  kind: 'ORDER_CONFIRMED',
  orderId,
  customerId: `customer-${orderId}`,
  totalCents: 1250n,
});

const cancelled = (orderId: string): OrderOutcome => ({
  kind: 'ORDER_CANCELLED',
  orderId,
  customerId: `customer-${orderId}`,
  cause: 'PAYMENT_DECLINED',
});

/**
 * The notifications table and the outbox in memory, plus a sender; every step is written to one
 * journal so a test sees their order. The SQL is tested against PostgreSQL.
 */
function inMemory(options: { notifiedBefore?: string[]; failingSends?: string[] } = {}) {
  const recorded = new Set(options.notifiedBefore ?? []);
  const journal: string[] = [];
  const store: NotifyCustomersStore = {
    insertAbsent(messages: readonly CustomerMessage[]) {
      const inserted = messages.filter((m) => !recorded.has(m.orderId)).map((m) => m.orderId);
      for (const orderId of inserted) recorded.add(orderId);
      journal.push(`record ${inserted.join(',')}`);
      return Promise.resolve(new Set(inserted));
    },
    addCustomerNotified(messages: readonly CustomerMessage[]) {
      journal.push(`announce ${messages.map((m) => m.orderId).join(',')}`);
      return Promise.resolve();
    },
  };
  const sent: CustomerMessage[] = [];
  const sender: Sender = {
    async send(message) {
      await new Promise((resolve) => setTimeout(resolve, 1));
      journal.push(`send ${message.orderId}`);
      if (options.failingSends?.includes(message.orderId)) throw new Error('sink unreachable');
      sent.push(message);
    },
  };
  return { store, sender, journal, sent };
}

describe('notifyCustomers', () => {
  test('when a run ends one order twice, then the first outcome is the message and the second sends nothing', async () => {
    // Arrange
    const { store, sender, sent } = inMemory();

    // Act
    const results = await notifyCustomers(
      store,
      sender,
      [confirmed('order-1'), cancelled('order-2'), cancelled('order-1')],
      now,
    );

    // Assert
    expect(results).toEqual(['notified', 'notified', 'already-notified']);
    expect(sent.map((m) => [m.orderId, m.kind])).toEqual([
      ['order-1', 'ORDER_CONFIRMED'],
      ['order-2', 'ORDER_CANCELLED'],
    ]);
    expect(sent[1]!.text).toContain('the payment was declined');
  });

  test('when an order was notified before, then it is neither announced nor sent again', async () => {
    // Arrange
    const { store, sender, journal, sent } = inMemory({ notifiedBefore: ['order-1'] });

    // Act
    const results = await notifyCustomers(
      store,
      sender,
      [confirmed('order-1'), confirmed('order-2')],
      now,
    );

    // Assert
    expect(results).toEqual(['already-notified', 'notified']);
    expect(journal).toEqual(['record order-2', 'announce order-2', 'send order-2']);
    expect(sent.map((m) => m.orderId)).toEqual(['order-2']);
  });

  test('when a send fails, then the messages were recorded and announced first and the run fails only after every send finished', async () => {
    // Arrange
    const { store, sender, journal } = inMemory({ failingSends: ['order-1'] });

    // Act
    const notifying = notifyCustomers(
      store,
      sender,
      [confirmed('order-1'), confirmed('order-2')],
      now,
    );

    // Assert
    await expect(notifying).rejects.toThrow('sink unreachable');
    expect(journal).toEqual([
      'record order-1,order-2',
      'announce order-1,order-2',
      'send order-1',
      'send order-2',
    ]);
  });
});
