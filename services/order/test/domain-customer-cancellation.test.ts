import { describe, expect, test } from 'vitest';
import { decideCustomerCancellation } from '../src/domain/customer-cancellation.js';
import { newPendingOrder, transition, type Order } from '../src/domain/order.js';
import { cancelOrder } from '../src/use-cases/cancel-order.js';
import type { OrderChange, OrderStore } from '../src/domain/order-store.js';

const placedAt = new Date('2026-01-01T00:00:00Z');
const confirmedAt = new Date('2026-01-01T00:00:02Z');
const dayMs = 24 * 60 * 60 * 1000;
const window = { idempotencyKey: 'cancel-1', windowMs: dayMs };

const pending = (): Order =>
  newPendingOrder(
    {
      customerId: 'c1',
      idempotencyKey: 'k1',
      lines: [{ sku: 'SKU-A', quantity: 2 }],
      paymentMethod: 'pm_card_ok',
    },
    'o1',
    placedAt,
  );
const reserved = (): Order =>
  transition(pending(), 'STOCK_RESERVED', new Date('2026-01-01T00:00:01Z'), {
    reservationId: 'r1',
    totalCents: 500n,
  });
const confirmed = (): Order => transition(reserved(), 'CONFIRMED', confirmedAt);

describe('decideCustomerCancellation', () => {
  test('when the order is open or confirmed, then it is CANCELLED as CUSTOMER_REQUESTED with the request key and the history entry', () => {
    const at = new Date(confirmedAt.getTime() + 1000);
    for (const order of [pending(), reserved(), confirmed()]) {
      const outcome = decideCustomerCancellation(order, window, at);
      expect(outcome.kind, order.status).toBe('cancelled');
      expect(outcome.order).toMatchObject({
        status: 'CANCELLED',
        cancellationReason: 'CUSTOMER_REQUESTED',
        cancelRequestKey: 'cancel-1',
        reservationId: order.reservationId,
      });
      expect(outcome.order.history.map((h) => h.status)).toEqual([
        ...order.history.map((h) => h.status),
        'CANCELLED',
      ]);
    }
  });

  test('when the order is already cancelled, then nothing changes and only the same key is a replay', () => {
    const cancelled = decideCustomerCancellation(pending(), window, confirmedAt).order;
    expect(decideCustomerCancellation(cancelled, window, confirmedAt)).toEqual({
      kind: 'unchanged',
      order: cancelled,
      replayed: true,
    });
    expect(
      decideCustomerCancellation(cancelled, { ...window, idempotencyKey: 'other' }, confirmedAt),
    ).toMatchObject({ kind: 'unchanged', replayed: false });
  });

  test('when the saga cancelled the order itself, then a customer cancel answers it unchanged, not replayed', () => {
    const timedOut = transition(pending(), 'CANCELLED', confirmedAt, {
      cancellationReason: 'TIMED_OUT',
    });
    expect(decideCustomerCancellation(timedOut, window, confirmedAt)).toMatchObject({
      kind: 'unchanged',
      replayed: false,
      order: { cancellationReason: 'TIMED_OUT' },
    });
  });

  test('when a confirmed order is past the cancel window, then it is ORDER_NOT_CANCELLABLE; open orders have no window', () => {
    const late = new Date(confirmedAt.getTime() + dayMs + 1);
    expect(() => decideCustomerCancellation(confirmed(), window, late)).toThrow(
      /cannot be cancelled: it was confirmed more than 86400000 ms ago/,
    );
    try {
      decideCustomerCancellation(confirmed(), window, late);
    } catch (error) {
      expect(error).toMatchObject({ code: 'ORDER_NOT_CANCELLABLE', kind: 'conflict' });
    }
    expect(
      decideCustomerCancellation(confirmed(), window, new Date(confirmedAt.getTime() + dayMs)),
    ).toMatchObject({ kind: 'cancelled' });
    expect(decideCustomerCancellation(reserved(), window, late)).toMatchObject({
      kind: 'cancelled',
    });
  });
});

describe('cancelOrder', () => {
  function store(orders: readonly Order[]) {
    const saved: (readonly OrderChange[])[] = [];
    const byId = new Map(orders.map((o) => [o.id, o]));
    const s: Pick<OrderStore, 'lockForSaga' | 'saveChanges'> = {
      lockForSaga: (ids) =>
        Promise.resolve(new Map(ids.flatMap((id) => (byId.has(id) ? [[id, byId.get(id)!]] : [])))),
      saveChanges: (changes) => {
        saved.push(changes);
        return Promise.resolve();
      },
    };
    return { store: s, saved };
  }
  const input = { orderId: 'o1', idempotencyKey: 'cancel-1', windowMs: dayMs };

  test('when another customer cancels the order, then it is ORDER_NOT_FOUND and nothing is saved', async () => {
    const { store: s, saved } = store([pending()]);
    await expect(
      cancelOrder(s, { ...input, customerId: 'intruder' }, confirmedAt),
    ).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
    await expect(
      cancelOrder(s, { ...input, orderId: 'missing', customerId: 'c1' }, confirmedAt),
    ).rejects.toMatchObject({ code: 'ORDER_NOT_FOUND' });
    expect(saved).toEqual([]);
  });

  test('when the owner cancels, then the change is saved once; an unchanged answer saves nothing', async () => {
    const { store: s, saved } = store([pending()]);
    const outcome = await cancelOrder(s, { ...input, customerId: 'c1' }, confirmedAt);
    expect(outcome.kind).toBe('cancelled');
    expect(saved).toHaveLength(1);
    const again = store([outcome.order]);
    expect(
      await cancelOrder(again.store, { ...input, customerId: 'c1' }, confirmedAt),
    ).toMatchObject({ kind: 'unchanged', replayed: true });
    expect(again.saved).toEqual([]);
  });
});
