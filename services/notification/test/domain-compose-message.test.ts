import { describe, expect, test } from 'vitest';
import { composeMessage, formatCents } from '../src/domain/compose-message.js';
import { notificationIdFor } from '../src/domain/notification-id.js';

describe('composeMessage', () => {
  test('when the order is confirmed, then the message names the order and the total charged', () => {
    expect(composeMessage('ORDER_CONFIRMED', 'order-1', 4599n)).toBe(
      'Your order order-1 is confirmed. Total charged: 45.99.',
    );
  });

  test.each([
    ['OUT_OF_STOCK', 'out of stock'],
    ['PAYMENT_DECLINED', 'payment was declined'],
    ['TIMED_OUT', 'could not be completed in time'],
    ['UNSPECIFIED', 'could not be completed'],
  ] as const)(
    'when the order is cancelled (%s), then the message names the order and says why',
    (reason, words) => {
      const text = composeMessage('ORDER_CANCELLED', 'order-2', reason);
      expect(text).toContain('order-2');
      expect(text).toContain('cancelled');
      expect(text).toContain(words);
    },
  );
});

describe('formatCents', () => {
  test.each([
    [0n, '0.00'],
    [5n, '0.05'],
    [100n, '1.00'],
    [123456n, '1234.56'],
    [-250n, '-2.50'],
  ])('when the amount is %s cents, then it reads %s', (cents, text) => {
    expect(formatCents(cents)).toBe(text);
  });
});

describe('notificationIdFor', () => {
  test('when the same order is notified twice, then both attempts carry the same UUID', () => {
    expect(notificationIdFor('order-1')).toBe(notificationIdFor('order-1'));
    expect(notificationIdFor('order-1')).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
  });

  test('when orders differ, then their notification ids differ', () => {
    expect(notificationIdFor('order-1')).not.toBe(notificationIdFor('order-2'));
  });
});
