import type { OrderPage, OrderPosition, OrderStore } from '../domain/order-store.js';

/** The page size asked for, within what the service allows: `limitMax` when none (0) or more. */
export function pageSize(requestedLimit: number, limitMax: number): number {
  return requestedLimit > 0 ? Math.min(requestedLimit, limitMax) : limitMax;
}

/**
 * A page of a customer's orders, newest first, starting after `after` (the first page when
 * absent). Keyset paging: orders placed while a client pages appear only on a first page, never
 * twice and never in place of one it has not seen yet.
 */
export async function listOrders(
  store: Pick<OrderStore, 'page'>,
  customerId: string,
  after: OrderPosition | undefined,
  requestedLimit: number,
  limitMax: number,
): Promise<OrderPage> {
  return store.page({ customerId }, after, pageSize(requestedLimit, limitMax));
}
