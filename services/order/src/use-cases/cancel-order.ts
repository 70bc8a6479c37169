import {
  decideCustomerCancellation,
  type CustomerCancellation,
} from '../domain/customer-cancellation.js';
import { orderNotFound } from '../domain/order-errors.js';
import type { OrderStore } from '../domain/order-store.js';

export interface CancelOrderInput {
  readonly orderId: string;
  readonly customerId: string;
  readonly idempotencyKey: string;
  /** How long after its confirmation a confirmed order may still be cancelled. */
  readonly windowMs: number;
}

/**
 * Cancels one of the customer's orders at their request, in the caller's transaction: the order
 * is locked (like every saga step, so a cancellation and an answer from inventory or payment for
 * the same order apply one after the other), decided (decideCustomerCancellation) and saved. An
 * order of another customer is ORDER_NOT_FOUND, exactly like one that does not exist. When the
 * outcome is `cancelled`, the caller publishes OrderCancelled in the same transaction.
 */
export async function cancelOrder(
  store: Pick<OrderStore, 'lockForSaga' | 'saveChanges'>,
  input: CancelOrderInput,
  at: Date,
): Promise<CustomerCancellation> {
  const order = (await store.lockForSaga([input.orderId])).get(input.orderId);
  if (!order || order.customerId !== input.customerId) throw orderNotFound(input.orderId);
  const outcome = decideCustomerCancellation(
    order,
    { idempotencyKey: input.idempotencyKey, windowMs: input.windowMs },
    at,
  );
  if (outcome.kind === 'cancelled')
    await store.saveChanges([{ before: order, after: outcome.order }]);
  return outcome;
}
