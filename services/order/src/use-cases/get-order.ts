import type { Order } from '../domain/order.js';
import type { OrderStore } from '../domain/order-store.js';

/**
 * One order, or undefined when there is none; when `customerId` is given, another customer's order
 * is none too (the caller answers ORDER_NOT_FOUND for both, so neither leaks that the id exists).
 */
export async function getOrder(
  store: Pick<OrderStore, 'find'>,
  orderId: string,
  customerId: string | undefined,
): Promise<Order | undefined> {
  const order = await store.find(orderId);
  if (!order || (customerId && order.customerId !== customerId)) return undefined;
  return order;
}
