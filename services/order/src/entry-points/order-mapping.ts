import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  CancellationReason,
  OrderSchema,
  OrderStatus,
  type Order as OrderMessage,
  type PlaceOrderRequest,
} from '@orderly/order-contract/order_service';
import type { Order } from '../domain/order.js';
import { assertPlaceable, type OrderRequest } from '../domain/order-request.js';

/**
 * OrderService messages ↔ the domain, the RPC boundary's only mapping. Money is `bigint` cents on
 * both sides; an unpriced line is 0 in the contract.
 */

const statusToProto: Record<Order['status'], OrderStatus> = {
  PENDING: OrderStatus.PENDING,
  STOCK_RESERVED: OrderStatus.STOCK_RESERVED,
  CONFIRMED: OrderStatus.CONFIRMED,
  CANCELLED: OrderStatus.CANCELLED,
};

const cancellationReasonToProto: Record<
  NonNullable<Order['cancellationReason']>,
  CancellationReason
> = {
  OUT_OF_STOCK: CancellationReason.OUT_OF_STOCK,
  PAYMENT_DECLINED: CancellationReason.PAYMENT_DECLINED,
  TIMED_OUT: CancellationReason.TIMED_OUT,
};

/** The contract's reason for a cancelled order; UNSPECIFIED while it is not cancelled. */
export function cancellationReasonOf(order: Order): CancellationReason {
  return order.cancellationReason
    ? cancellationReasonToProto[order.cancellationReason]
    : CancellationReason.UNSPECIFIED;
}

/**
 * A PlaceOrder request as the domain's request, checked (`assertPlaceable`) here, so a request
 * that cannot be placed is refused before it joins a transaction.
 */
export function orderRequestFromProto(
  request: Pick<PlaceOrderRequest, 'customerId' | 'idempotencyKey' | 'lines' | 'paymentMethod'>,
): OrderRequest {
  const orderRequest: OrderRequest = {
    customerId: request.customerId,
    idempotencyKey: request.idempotencyKey,
    lines: request.lines.map(({ sku, quantity }) => ({ sku, quantity })),
    paymentMethod: request.paymentMethod,
  };
  assertPlaceable(orderRequest);
  return orderRequest;
}

export function orderToProto(order: Order): OrderMessage {
  return create(OrderSchema, {
    orderId: order.id,
    customerId: order.customerId,
    status: statusToProto[order.status],
    lines: order.lines.map((l) => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPriceCents: l.unitPriceCents ?? 0n,
    })),
    totalCents: order.totalCents,
    cancellationReason: cancellationReasonOf(order),
    history: order.history.map((h) => ({
      status: statusToProto[h.status],
      at: timestampFromDate(h.at),
    })),
    paymentMethod: order.paymentMethod,
    placedAt: timestampFromDate(order.placedAt),
  });
}
