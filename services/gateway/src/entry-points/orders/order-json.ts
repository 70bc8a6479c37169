import { timestampDate, type Timestamp } from '@bufbuild/protobuf/wkt';
import {
  CancellationReason,
  OrderStatus,
  RiskReview,
  type Order,
} from '@orderly/order-contract/order_service';
import { upstreamInvalidResponse } from '../http/http-errors.js';
import { cents, money, type MoneyJson } from '../http/money-json.js';
import type { cancellationReasons, orderStatuses, riskReviews } from './order-schemas.js';

/** Proto ↔ public JSON of an order. */
export interface OrderJson {
  orderId: string;
  status: (typeof orderStatuses)[number];
  lines: { sku: string; quantity: number; unitPriceCents: number }[];
  totalCents: number;
  paymentMethod?: string;
  cancellationReason?: (typeof cancellationReasons)[number];
  riskReview?: (typeof riskReviews)[number];
  placedAt: string;
  history: { status: (typeof orderStatuses)[number]; at: string }[];
}

/** An order as the admin search shows it: with its customer. */
export interface AdminOrderJson extends OrderJson {
  customerId: string;
}

/** Version 2 of an order: money objects with a currency instead of cent numbers. */
export interface OrderJsonV2 extends Omit<OrderJson, 'lines' | 'totalCents'> {
  lines: { sku: string; quantity: number; unitPrice?: MoneyJson }[];
  currency?: string;
  total?: MoneyJson;
}

/** Either version's body (the schema allows both; the route refuses a field of the other one). */
export interface PlaceOrderBody {
  lines: { sku: string; quantity: number; unitPrice?: MoneyJson }[];
  paymentMethod: string;
  currency?: string;
}

const statusNames = new Map<OrderStatus, OrderJson['status']>([
  [OrderStatus.PENDING, 'PENDING'],
  [OrderStatus.STOCK_RESERVED, 'STOCK_RESERVED'],
  [OrderStatus.CONFIRMED, 'CONFIRMED'],
  [OrderStatus.CANCELLED, 'CANCELLED'],
]);

const reasonNames = new Map<CancellationReason, NonNullable<OrderJson['cancellationReason']>>([
  [CancellationReason.OUT_OF_STOCK, 'OUT_OF_STOCK'],
  [CancellationReason.PAYMENT_DECLINED, 'PAYMENT_DECLINED'],
  [CancellationReason.TIMED_OUT, 'TIMED_OUT'],
  [CancellationReason.CUSTOMER_REQUESTED, 'CUSTOMER_REQUESTED'],
  [CancellationReason.RISK_REJECTED, 'RISK_REJECTED'],
]);

const riskReviewNames = new Map<RiskReview, NonNullable<OrderJson['riskReview']>>([
  [RiskReview.AWAITING, 'AWAITING'],
  [RiskReview.HELD, 'HELD'],
  [RiskReview.APPROVED, 'APPROVED'],
]);

function statusName(status: OrderStatus): OrderJson['status'] {
  const name = statusNames.get(status);
  if (!name) throw upstreamInvalidResponse('an order status');
  return name;
}

function isoTime(timestamp: Timestamp | undefined): string {
  if (!timestamp) throw upstreamInvalidResponse('a timestamp');
  return timestampDate(timestamp).toISOString();
}

export function orderToJson(order: Order): OrderJson {
  const json: OrderJson = {
    orderId: order.orderId,
    status: statusName(order.status),
    lines: order.lines.map((line) => ({
      sku: line.sku,
      quantity: line.quantity,
      unitPriceCents: cents(line.unitPriceCents),
    })),
    totalCents: cents(order.totalCents),
    placedAt: isoTime(order.placedAt),
    history: order.history.map((change) => ({
      status: statusName(change.status),
      at: isoTime(change.at),
    })),
  };
  if (order.paymentMethod) json.paymentMethod = order.paymentMethod;
  const reason = reasonNames.get(order.cancellationReason);
  if (reason) json.cancellationReason = reason;
  const riskReview = riskReviewNames.get(order.riskReview);
  if (riskReview) json.riskReview = riskReview;
  return json;
}

/** Priced once inventory reserved its stock: before that there is no unit price or total to show. */
function isPriced(order: Order): boolean {
  return order.history.some((change) => change.status === OrderStatus.STOCK_RESERVED);
}

export function orderToJsonV2(order: Order): OrderJsonV2 {
  // Everything version 1 says but the cent amounts, which version 2 says as money.
  const common: Partial<OrderJson> = orderToJson(order);
  delete common.lines;
  delete common.totalCents;
  const priced = isPriced(order) && order.currency !== '';
  return {
    ...(common as Omit<OrderJson, 'lines' | 'totalCents'>),
    ...(order.currency ? { currency: order.currency } : {}),
    lines: order.lines.map((line) => ({
      sku: line.sku,
      quantity: line.quantity,
      ...(priced ? { unitPrice: money(line.unitPriceCents, order.currency) } : {}),
    })),
    ...(priced ? { total: money(order.totalCents, order.currency) } : {}),
  };
}

/** The order in the contract version the request is served in. */
export function orderToJsonIn(version: string): (order: Order) => OrderJson | OrderJsonV2 {
  return version === '2' ? orderToJsonV2 : orderToJson;
}

export function adminOrderToJson(order: Order): AdminOrderJson {
  return { ...orderToJson(order), customerId: order.customerId };
}

/** The name of a status in the contract's enum (for the admin search's filter). */
export function statusFromName(name: OrderJson['status']): OrderStatus {
  for (const [status, statusName] of statusNames) if (statusName === name) return status;
  return OrderStatus.UNSPECIFIED;
}
