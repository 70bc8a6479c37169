import { describe, expect, test } from 'vitest';
import { canTransition, newPendingOrder, transition, type Order } from '../src/domain/order.js';
import {
  onPaymentFailed,
  onPaymentSucceeded,
  onSagaTimedOut,
  onStockRejected,
  onStockReserved,
} from '../src/domain/fulfillment-saga.js';
import { requestFingerprint } from '../src/domain/order-request.js';

const at = new Date('2026-01-01T00:00:00Z');
const later = new Date('2026-01-01T00:00:01Z');
const anOrder = (): Order =>
  newPendingOrder(
    {
      customerId: 'c1',
      idempotencyKey: 'k1',
      lines: [{ sku: 'SKU-A', quantity: 2 }],
      paymentMethod: 'pm_card_ok',
    },
    'o1',
    at,
  );
const stock = {
  reservationId: 'r1',
  totalCents: 500n,
  lines: [{ sku: 'SKU-A', quantity: 2, unitPriceCents: 250n }],
};

describe('order state machine', () => {
  test('when the transitions follow the saga, then they are all legal', () => {
    expect(canTransition('PENDING', 'STOCK_RESERVED')).toBe(true);
    expect(canTransition('STOCK_RESERVED', 'CONFIRMED')).toBe(true);
    expect(canTransition('PENDING', 'CANCELLED')).toBe(true);
    expect(canTransition('STOCK_RESERVED', 'CANCELLED')).toBe(true);
  });

  test('when a transition skips a step or leaves a terminal state, then it is refused', () => {
    expect(canTransition('PENDING', 'CONFIRMED')).toBe(false);
    expect(canTransition('CONFIRMED', 'CANCELLED')).toBe(false);
    expect(canTransition('CANCELLED', 'STOCK_RESERVED')).toBe(false);
    expect(() => transition(anOrder(), 'CONFIRMED', later)).toThrow(
      /cannot go from PENDING to CONFIRMED/,
    );
  });

  test('when stock is reserved, then the order is priced, keeps the reservation and asks for payment', () => {
    const step = onStockReserved(anOrder(), stock, later);
    expect(step).toMatchObject({ kind: 'advanced', publish: 'PaymentRequested' });
    if (step.kind !== 'advanced') return;
    expect(step.order).toMatchObject({
      status: 'STOCK_RESERVED',
      totalCents: 500n,
      reservationId: 'r1',
    });
    expect(step.order.history.map((h) => h.status)).toEqual(['PENDING', 'STOCK_RESERVED']);
  });

  test('when stock is rejected, then the order is cancelled as OUT_OF_STOCK', () => {
    const step = onStockRejected(anOrder(), later);
    expect(step).toMatchObject({
      kind: 'advanced',
      publish: 'OrderCancelled',
      order: { cancellationReason: 'OUT_OF_STOCK' },
    });
  });

  test('when payment succeeds for a reserved order, then it is confirmed', () => {
    const reserved = onStockReserved(anOrder(), stock, later);
    if (reserved.kind !== 'advanced') throw new Error('expected advance');
    expect(onPaymentSucceeded(reserved.order, later)).toMatchObject({
      kind: 'advanced',
      order: { status: 'CONFIRMED' },
    });
    expect(onPaymentFailed(reserved.order, later)).toMatchObject({
      order: { status: 'CANCELLED', cancellationReason: 'PAYMENT_DECLINED' },
    });
  });

  test('when an answer arrives for an order that already ended, then it is ignored', () => {
    const cancelled = onSagaTimedOut(anOrder(), later);
    if (cancelled.kind !== 'advanced') throw new Error('expected advance');
    expect(onStockReserved(cancelled.order, stock, later)).toMatchObject({ kind: 'ignored' });
    expect(onPaymentSucceeded(cancelled.order, later)).toMatchObject({ kind: 'ignored' });
    expect(onSagaTimedOut(cancelled.order, later)).toMatchObject({ kind: 'ignored' });
  });

  test('when payment answers before stock was reserved, then it is ignored', () => {
    expect(onPaymentSucceeded(anOrder(), later)).toMatchObject({ kind: 'ignored' });
  });

  test('when two requests differ only in their key, then their fingerprints match; different content differs', () => {
    const base = {
      customerId: 'c',
      idempotencyKey: 'a',
      lines: [{ sku: 'S', quantity: 1 }],
      paymentMethod: 'pm',
    };
    expect(requestFingerprint(base)).toBe(requestFingerprint({ ...base, idempotencyKey: 'b' }));
    expect(requestFingerprint(base)).not.toBe(
      requestFingerprint({ ...base, lines: [{ sku: 'S', quantity: 2 }] }),
    );
  });
});
