import { createHash } from 'node:crypto';
import type { DeadlineOptions } from '@orderly/platform';
import { idempotencyKeyReused, invalidOrder, orderNotFound } from './order-errors.js';
import type { Order, OrderLine } from './order.js';
import type { OrderDeps } from './order-store.js';

export interface PlaceOrderInput {
  readonly customerId: string;
  readonly idempotencyKey: string;
  readonly lines: readonly { readonly sku: string; readonly quantity: number }[];
  readonly paymentMethod: string;
}

/** Checks what the order service itself relies on; the gateway applies the public limits. */
export function assertPlaceable(input: PlaceOrderInput): void {
  if (!input.customerId) throw invalidOrder('customer id is required', 'customerId');
  if (!input.idempotencyKey) throw invalidOrder('idempotency key is required', 'idempotencyKey');
  if (!input.paymentMethod) throw invalidOrder('payment method is required', 'paymentMethod');
  if (input.lines.length === 0) throw invalidOrder('an order needs at least one line', 'lines');
  for (const [index, line] of input.lines.entries()) {
    if (!line.sku) throw invalidOrder(`line ${index} has no sku`, `lines[${index}].sku`);
    if (!Number.isInteger(line.quantity) || line.quantity < 1) {
      throw invalidOrder(
        `line ${index} needs a positive whole quantity`,
        `lines[${index}].quantity`,
      );
    }
  }
}

/**
 * Identifies the content of a request, so a retried request (same key, same content) is told
 * apart from a different request that reuses a key.
 */
export function requestFingerprint(input: PlaceOrderInput): string {
  const canonical = JSON.stringify({
    lines: input.lines.map((l) => [l.sku, l.quantity]),
    paymentMethod: input.paymentMethod,
  });
  return createHash('sha256').update(canonical).digest('hex');
}

export function newPendingOrder(input: PlaceOrderInput, id: string, now: Date): Order {
  const lines: OrderLine[] = input.lines.map((l) => ({
    sku: l.sku,
    quantity: l.quantity,
    unitPriceCents: undefined,
  }));
  return {
    id,
    customerId: input.customerId,
    status: 'PENDING',
    lines,
    totalCents: 0,
    paymentMethod: input.paymentMethod,
    reservationId: undefined,
    cancellationReason: undefined,
    placedAt: now,
    history: [{ status: 'PENDING', at: now }],
  };
}

/**
 * Records a PENDING order and its OrderPlaced event in one transaction. A repeated request (same
 * customer, key and content) returns the order it created the first time.
 */
export async function placeOrder(
  deps: OrderDeps,
  input: PlaceOrderInput,
  deadline?: DeadlineOptions,
): Promise<{ order: Order; replayed: boolean }> {
  assertPlaceable(input);
  const fingerprint = requestFingerprint(input);
  const order = newPendingOrder(input, deps.newId(), deps.clock());
  const outcome = await deps.recordNewOrder(
    { order, idempotencyKey: input.idempotencyKey, fingerprint },
    deadline,
  );
  if (outcome.created) return { order, replayed: false };
  if (!outcome.existing) throw orderNotFound(input.idempotencyKey);
  if (outcome.existing.fingerprint !== fingerprint)
    throw idempotencyKeyReused(input.idempotencyKey);
  return { order: outcome.existing.order, replayed: true };
}
