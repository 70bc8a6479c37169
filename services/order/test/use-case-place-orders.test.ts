import { describe, expect, test } from 'vitest';
import { AppError } from '@orderly/platform';
import type { Order } from '../src/domain/order.js';
import type { OrderRequest } from '../src/domain/order-request.js';
import type { NewOrder } from '../src/domain/order-store.js';
import { placeOrders, type PlaceOrdersStore } from '../src/use-cases/place-orders.js';

const now = new Date('2026-01-01T00:00:00Z');
const aRequest = (overrides: Partial<OrderRequest> = {}): OrderRequest => ({
  customerId: 'c1',
  idempotencyKey: 'k1',
  lines: [{ sku: 'SKU-A', quantity: 2 }],
  paymentMethod: 'pm_card_ok',
  ...overrides,
});

/** Keeps orders by customer and key, as the table's unique constraint does; counts the calls. */
function memoryStore() {
  const byKey = new Map<string, NewOrder>();
  const calls = { insertNew: 0, findByIdempotencyKey: 0 };
  const store: PlaceOrdersStore = {
    insertNew: (orders) => {
      calls.insertNew += 1;
      const inserted = new Set<string>();
      for (const newOrder of orders) {
        const key = `${newOrder.order.customerId}/${newOrder.idempotencyKey}`;
        if (byKey.has(key)) continue;
        byKey.set(key, newOrder);
        inserted.add(newOrder.order.id);
      }
      return Promise.resolve(inserted);
    },
    findByIdempotencyKey: (customerId, idempotencyKey) => {
      calls.findByIdempotencyKey += 1;
      const found = byKey.get(`${customerId}/${idempotencyKey}`);
      return Promise.resolve(found && { order: found.order, fingerprint: found.fingerprint });
    },
  };
  return { store, calls };
}

const ids = () => {
  let next = 0;
  return () => `o${++next}`;
};

describe('placeOrders', () => {
  test('when new requests are placed together, then each gets its own PENDING order, unpriced, inserted with one call', async () => {
    // Arrange
    const { store, calls } = memoryStore();

    // Act
    const outcomes = await placeOrders(
      store,
      [aRequest({ idempotencyKey: 'a' }), aRequest({ idempotencyKey: 'b' })],
      ids(),
      now,
    );

    // Assert
    expect(outcomes).toEqual([
      { order: expect.objectContaining({ id: 'o1', status: 'PENDING' }) as Order, replayed: false },
      { order: expect.objectContaining({ id: 'o2', status: 'PENDING' }) as Order, replayed: false },
    ]);
    const [first] = outcomes as { order: Order }[];
    expect(first?.order).toMatchObject({ totalCents: 0n, placedAt: now });
    expect(first?.order.lines).toEqual([{ sku: 'SKU-A', quantity: 2 }]);
    expect(calls).toEqual({ insertNew: 1, findByIdempotencyKey: 0 });
  });

  test('when a request repeats a recorded one, then it gets that order back as replayed; different content under the key is ORDER_IDEMPOTENCY_KEY_REUSED', async () => {
    // Arrange
    const { store, calls } = memoryStore();
    const newId = ids();
    await placeOrders(store, [aRequest()], newId, now);

    // Act
    const [replay, reused] = await placeOrders(
      store,
      [aRequest(), aRequest({ lines: [{ sku: 'SKU-B', quantity: 1 }] })],
      newId,
      now,
    );

    // Assert
    expect(replay).toMatchObject({ order: { id: 'o1' }, replayed: true });
    expect(reused).toBeInstanceOf(AppError);
    expect((reused as AppError).code).toBe('ORDER_IDEMPOTENCY_KEY_REUSED');
    expect(calls).toEqual({ insertNew: 2, findByIdempotencyKey: 2 });
  });
});
