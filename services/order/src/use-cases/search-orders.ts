import type { OrderFilter, OrderPage, OrderPosition, OrderStore } from '../domain/order-store.js';
import { pageSize } from './list-orders.js';

/**
 * A page of every customer's orders matching `filter` (status, customer, placement time), newest
 * first, starting after `after`: the admin's order search, paged like a customer's list.
 */
export async function searchOrders(
  store: Pick<OrderStore, 'page'>,
  filter: OrderFilter,
  after: OrderPosition | undefined,
  requestedLimit: number,
  limitMax: number,
): Promise<OrderPage> {
  return store.page(filter, after, pageSize(requestedLimit, limitMax));
}
