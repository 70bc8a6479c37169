import type { Order } from '../domain/order.js';
import type { OrderStore } from '../domain/order-store.js';

/**
 * A customer's orders, newest first: `requestedLimit` of them, or `limitMax` when none (0) or more
 * is asked for.
 */
export async function listOrders(
  store: Pick<OrderStore, 'list'>,
  customerId: string,
  requestedLimit: number,
  limitMax: number,
): Promise<Order[]> {
  const limit = requestedLimit > 0 ? Math.min(requestedLimit, limitMax) : limitMax;
  return store.list(customerId, limit);
}
