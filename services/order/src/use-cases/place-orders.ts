import type { AppError } from '@orderly/platform';
import { idempotencyKeyReused, orderNotFound } from '../domain/order-errors.js';
import { newPendingOrder, type Order } from '../domain/order.js';
import { requestFingerprint, type OrderRequest } from '../domain/order-request.js';
import type { NewOrder, OrderStore } from '../domain/order-store.js';

export type PlaceOrdersStore = Pick<OrderStore, 'insertNew' | 'findByIdempotencyKey'>;

/** A request's order: created now, or the one the same request created before (`replayed`). */
export interface PlacedOrder {
  readonly order: Order;
  readonly replayed: boolean;
}

/**
 * Places a batch of checked requests (`assertPlaceable`) in one transaction: every new order is
 * inserted PENDING with one statement per table. A request whose customer already used its key
 * gets the order that key recorded when the content is the same (a retry), or
 * ORDER_IDEMPOTENCY_KEY_REUSED when it is not. Returns one outcome per request, in order; the
 * caller publishes OrderPlaced for each order that is not `replayed`.
 */
export async function placeOrders(
  store: PlaceOrdersStore,
  requests: readonly OrderRequest[],
  newId: () => string,
  now: Date,
): Promise<(PlacedOrder | AppError)[]> {
  const newOrders = requests.map((request): NewOrder => ({
    order: newPendingOrder(request, newId(), now),
    idempotencyKey: request.idempotencyKey,
    fingerprint: requestFingerprint(request),
  }));
  const inserted = await store.insertNew(newOrders);
  const outcomes: (PlacedOrder | AppError)[] = [];
  for (const { order, idempotencyKey, fingerprint } of newOrders) {
    if (inserted.has(order.id)) {
      outcomes.push({ order, replayed: false });
      continue;
    }
    // The key was taken (now or earlier); the insert waited for its transaction, so it is visible.
    const existing = await store.findByIdempotencyKey(order.customerId, idempotencyKey);
    if (!existing) outcomes.push(orderNotFound(idempotencyKey));
    else if (existing.fingerprint !== fingerprint)
      outcomes.push(idempotencyKeyReused(idempotencyKey));
    else outcomes.push({ order: existing.order, replayed: true });
  }
  return outcomes;
}
