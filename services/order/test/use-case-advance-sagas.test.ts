import { describe, expect, test } from 'vitest';
import type { SagaAnswer } from '../src/domain/fulfillment-saga.js';
import { newPendingOrder, type Order } from '../src/domain/order.js';
import type { OrderChange, OrderStore } from '../src/domain/order-store.js';
import { advanceSagas } from '../src/use-cases/advance-sagas.js';
import { cancelTimedOutOrders } from '../src/use-cases/cancel-timed-out-orders.js';

const placedAt = new Date('2026-01-01T00:00:00Z');
const at = new Date('2026-01-01T00:01:00Z');
const anOrder = (id: string): Order =>
  newPendingOrder(
    {
      customerId: 'c1',
      idempotencyKey: id,
      lines: [{ sku: 'SKU-A', quantity: 2 }],
      paymentMethod: 'pm_card_ok',
    },
    id,
    placedAt,
  );
const reserved = (orderId: string, unitPriceCents: bigint): SagaAnswer => ({
  kind: 'StockReserved',
  orderId,
  reservationId: `r-${orderId}`,
  lines: [{ sku: 'SKU-A', quantity: 2, unitPriceCents }],
  totalCents: 2n * unitPriceCents,
});

/** Holds `orders`; records what the use case locked and saved. */
function memoryStore(orders: readonly Order[]) {
  const byId = new Map(orders.map((order) => [order.id, order]));
  const locked: (readonly string[])[] = [];
  const saved: (readonly OrderChange[])[] = [];
  const cutoffs: Date[] = [];
  const store: Pick<OrderStore, 'lockForSaga' | 'lockTimedOut' | 'saveChanges'> = {
    lockForSaga: (orderIds) => {
      locked.push(orderIds);
      return Promise.resolve(
        new Map(orderIds.flatMap((id) => (byId.has(id) ? [[id, byId.get(id)!] as const] : []))),
      );
    },
    lockTimedOut: (cutoff, limit) => {
      cutoffs.push(cutoff);
      return Promise.resolve(orders.filter((o) => o.placedAt < cutoff).slice(0, limit));
    },
    saveChanges: (changes) => {
      saved.push(changes);
      return Promise.resolve();
    },
  };
  return { store, locked, saved, cutoffs };
}

describe('advanceSagas', () => {
  test('when two answers for one order come in one run, then the second sees the first one’s result and the run locks once and saves once', async () => {
    // Arrange
    const { store, locked, saved } = memoryStore([anOrder('o1'), anOrder('o2')]);

    // Act
    const steps = await advanceSagas(
      store,
      [
        reserved('o1', 250n),
        reserved('o2', 100n),
        reserved('o1', 999n),
        { kind: 'PaymentSucceeded', orderId: 'o2' },
      ],
      at,
    );

    // Assert
    expect(steps.map((s) => s.kind)).toEqual(['advanced', 'advanced', 'ignored', 'advanced']);
    expect(locked).toEqual([['o1', 'o2']]);
    expect(saved).toHaveLength(1);
    const after = new Map(saved[0]!.map((c) => [c.after.id, c.after]));
    expect(after.get('o1')).toMatchObject({ status: 'STOCK_RESERVED', totalCents: 500n });
    expect(after.get('o1')?.lines).toEqual([{ sku: 'SKU-A', quantity: 2, unitPriceCents: 250n }]);
    expect(after.get('o2')?.history.map((h) => h.status)).toEqual([
      'PENDING',
      'STOCK_RESERVED',
      'CONFIRMED',
    ]);
  });

  test('when an answer names an order that does not exist, then the run fails before anything is saved', async () => {
    // Arrange
    const { store, saved } = memoryStore([anOrder('o1')]);

    // Act
    const run = advanceSagas(store, [reserved('o1', 250n), reserved('unknown', 250n)], at);

    // Assert
    await expect(run).rejects.toMatchObject({ code: 'ORDER_EVENT_FOR_UNKNOWN_ORDER' });
    expect(saved).toEqual([]);
  });
});

describe('cancelTimedOutOrders', () => {
  test('when orders have been open longer than the timeout, then they are cancelled as TIMED_OUT', async () => {
    // Arrange
    const { store, saved, cutoffs } = memoryStore([anOrder('o1'), anOrder('o2')]);

    // Act
    const steps = await cancelTimedOutOrders(store, 30_000, 10, at);

    // Assert
    expect(cutoffs).toEqual([new Date(at.getTime() - 30_000)]);
    expect(steps).toEqual([
      expect.objectContaining({ kind: 'advanced', publish: 'OrderCancelled' }),
      expect.objectContaining({ kind: 'advanced', publish: 'OrderCancelled' }),
    ]);
    expect(saved[0]?.map((c) => c.after.cancellationReason)).toEqual(['TIMED_OUT', 'TIMED_OUT']);
  });
});
