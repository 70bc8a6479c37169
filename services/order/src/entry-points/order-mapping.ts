import { create } from '@bufbuild/protobuf';
import { timestampDate, timestampFromDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import { decodePageCursor, encodePageCursor } from '@orderly/platform';
import {
  CancellationReason,
  OrderSchema,
  OrderStatus,
  RiskReview as RiskReviewProto,
  type Order as OrderMessage,
  type PlaceOrderRequest,
  type SearchOrdersRequest,
} from '@orderly/order-contract/order_service';
import { cursorInvalid, invalidOrder } from '../domain/order-errors.js';
import { isOrderId, type Order } from '../domain/order.js';
import type { OrderFilter, OrderPosition } from '../domain/order-store.js';
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
  CUSTOMER_REQUESTED: CancellationReason.CUSTOMER_REQUESTED,
  RISK_REJECTED: CancellationReason.RISK_REJECTED,
};

const riskReviewToProto: Record<NonNullable<Order['riskReview']>, RiskReviewProto> = {
  AWAITING: RiskReviewProto.AWAITING,
  HELD: RiskReviewProto.HELD,
  APPROVED: RiskReviewProto.APPROVED,
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
  request: Pick<
    PlaceOrderRequest,
    'customerId' | 'idempotencyKey' | 'lines' | 'paymentMethod' | 'currency'
  >,
): OrderRequest {
  const orderRequest: OrderRequest = {
    customerId: request.customerId,
    idempotencyKey: request.idempotencyKey,
    lines: request.lines.map(({ sku, quantity }) => ({ sku, quantity })),
    paymentMethod: request.paymentMethod,
    currency: request.currency === '' ? undefined : request.currency,
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
    currency: order.currency,
    cancellationReason: cancellationReasonOf(order),
    history: order.history.map((h) => ({
      status: statusToProto[h.status],
      at: timestampFromDate(h.at),
    })),
    paymentMethod: order.paymentMethod,
    placedAt: timestampFromDate(order.placedAt),
    riskReview: order.riskReview
      ? riskReviewToProto[order.riskReview]
      : RiskReviewProto.UNSPECIFIED,
  });
}

/** Every order list shares one keyset (placed_at, id), so one cursor kind serves them all. */
const ordersList = 'orders';
const positionPattern = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The next page's cursor, or '' on the last page. */
export function cursorOf(next: OrderPosition | undefined): string {
  return next ? encodePageCursor(ordersList, [next.placedAt, next.orderId]) : '';
}

/** The position a cursor holds (none for ''); CURSOR_INVALID when no order list gave it out. */
export function positionFromCursor(cursor: string): OrderPosition | undefined {
  if (cursor === '') return undefined;
  const position = decodePageCursor(ordersList, cursor, 2);
  const [placedAt, orderId] = position ?? [];
  if (
    placedAt === undefined ||
    orderId === undefined ||
    !positionPattern.test(placedAt) ||
    Number.isNaN(Date.parse(placedAt)) ||
    !isOrderId(orderId)
  )
    throw cursorInvalid();
  return { placedAt, orderId };
}

const statusFromProto = new Map<OrderStatus, Order['status']>(
  Object.entries(statusToProto).map(([name, value]) => [value, name as Order['status']]),
);

function dateOf(timestamp: Timestamp | undefined): Date | undefined {
  return timestamp ? timestampDate(timestamp) : undefined;
}

/** A SearchOrders request's filter; an unknown status is ORDER_INVALID. */
export function orderFilterFromProto(
  request: Pick<SearchOrdersRequest, 'status' | 'customerId' | 'placedFrom' | 'placedTo'>,
): OrderFilter {
  let status: Order['status'] | undefined;
  if (request.status !== OrderStatus.UNSPECIFIED) {
    status = statusFromProto.get(request.status);
    if (status === undefined) throw invalidOrder(`unknown status ${request.status}`, 'status');
  }
  const placedFrom = dateOf(request.placedFrom);
  const placedTo = dateOf(request.placedTo);
  if (placedFrom && placedTo && placedFrom >= placedTo)
    throw invalidOrder('placed_from must be before placed_to', 'placedFrom');
  return {
    ...(status ? { status } : {}),
    ...(request.customerId ? { customerId: request.customerId } : {}),
    ...(placedFrom ? { placedFrom } : {}),
    ...(placedTo ? { placedTo } : {}),
  };
}
