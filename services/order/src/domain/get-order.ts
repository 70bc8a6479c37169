import type { DeadlineOptions } from '@orderly/platform';
import { orderNotFound } from './order-errors.js';
import type { Order } from './order.js';
import type { OrderDeps } from './order-store.js';

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** One order; when `customerId` is given, another customer's order is reported as not found. */
export async function getOrder(
  deps: OrderDeps,
  orderId: string,
  customerId: string | undefined,
  deadline?: DeadlineOptions,
): Promise<Order> {
  if (!uuidPattern.test(orderId)) throw orderNotFound(orderId);
  const order = await deps.transaction((store) => store.find(orderId), deadline);
  if (!order || (customerId && order.customerId !== customerId)) throw orderNotFound(orderId);
  return order;
}

export async function listOrders(
  deps: OrderDeps,
  customerId: string,
  limit: number,
  deadline?: DeadlineOptions,
): Promise<Order[]> {
  return deps.transaction((store) => store.list(customerId, limit), deadline);
}
