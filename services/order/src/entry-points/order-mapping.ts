import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import {
  OrderSchema,
  OrderStatus,
  type Order as OrderMessage,
} from '@orderly/order-contract/order_service';
import type { Order } from '../domain/order.js';
import { cancellationReasonToProto } from '../data-access/order-store.js';

const statusToProto: Record<Order['status'], OrderStatus> = {
  PENDING: OrderStatus.PENDING,
  STOCK_RESERVED: OrderStatus.STOCK_RESERVED,
  CONFIRMED: OrderStatus.CONFIRMED,
  CANCELLED: OrderStatus.CANCELLED,
};

/** Maps the aggregate to its contract shape. */
export function orderToProto(order: Order): OrderMessage {
  return create(OrderSchema, {
    orderId: order.id,
    customerId: order.customerId,
    status: statusToProto[order.status],
    lines: order.lines.map((l) => ({
      sku: l.sku,
      quantity: l.quantity,
      unitPriceCents: BigInt(l.unitPriceCents ?? 0),
    })),
    totalCents: BigInt(order.totalCents),
    cancellationReason: order.cancellationReason
      ? cancellationReasonToProto[order.cancellationReason]
      : 0,
    history: order.history.map((h) => ({
      status: statusToProto[h.status],
      at: timestampFromDate(h.at),
    })),
    paymentMethod: order.paymentMethod,
    placedAt: timestampFromDate(order.placedAt),
  });
}
