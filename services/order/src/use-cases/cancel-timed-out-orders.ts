import { decideSagaRun, type SagaStep } from '../domain/fulfillment-saga.js';
import type { OrderStore } from '../domain/order-store.js';

/**
 * Cancels (TIMED_OUT) up to `limit` orders whose saga has been open longer than `timeoutMs` at
 * `now` and that no other sweep holds. Returns one step per order it took; the caller publishes
 * their OrderCancelled events (stock is released and payments refunded on those).
 */
export async function cancelTimedOutOrders(
  store: Pick<OrderStore, 'lockTimedOut' | 'saveChanges'>,
  timeoutMs: number,
  limit: number,
  now: Date,
): Promise<readonly SagaStep[]> {
  const orders = await store.lockTimedOut(new Date(now.getTime() - timeoutMs), limit);
  const { steps, changes } = decideSagaRun(
    new Map(orders.map((order) => [order.id, order])),
    orders.map((order) => ({ kind: 'SagaTimedOut', orderId: order.id })),
    now,
  );
  await store.saveChanges(changes);
  return steps;
}
