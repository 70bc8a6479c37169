import { createHash } from 'node:crypto';
import { invalidOrder } from './order-errors.js';
import type { OrderLine } from './order.js';

/** What a customer asks for when placing an order; its lines become the order's lines. */
export interface OrderRequest {
  readonly customerId: string;
  readonly idempotencyKey: string;
  readonly lines: readonly OrderLine[];
  readonly paymentMethod: string;
  /** ISO 4217 code the customer pays in; absent: the currency the catalog prices the lines in. */
  readonly currency?: string | undefined;
}

/** Checks what the order service itself relies on; the gateway applies the public limits. */
export function assertPlaceable(request: OrderRequest): void {
  if (!request.customerId) throw invalidOrder('customer id is required', 'customerId');
  if (!request.idempotencyKey) throw invalidOrder('idempotency key is required', 'idempotencyKey');
  if (!request.paymentMethod) throw invalidOrder('payment method is required', 'paymentMethod');
  if (request.currency !== undefined && !/^[A-Z]{3}$/.test(request.currency))
    throw invalidOrder('currency must be an ISO 4217 code (three capital letters)', 'currency');
  if (request.lines.length === 0) throw invalidOrder('an order needs at least one line', 'lines');
  for (const [index, line] of request.lines.entries()) {
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
export function requestFingerprint(request: OrderRequest): string {
  const canonical = JSON.stringify({
    lines: request.lines.map((l) => [l.sku, l.quantity]),
    paymentMethod: request.paymentMethod,
    // Only when given, so the fingerprints of requests without one stay what they were.
    ...(request.currency ? { currency: request.currency } : {}),
  });
  return createHash('sha256').update(canonical).digest('hex');
}
