import type { ConnectRouter } from '@connectrpc/connect';
import { deadlineOf } from '@orderly/platform';
import { OrderService } from '../../gen/order/v1/order_service_pb.js';
import { getOrder, listOrders } from '../domain/get-order.js';
import type { OrderDeps } from '../domain/order-store.js';
import { placeOrder } from '../domain/place-order.js';
import { customerIdRequired, intakeSaturated } from '../domain/order-errors.js';
import type { OrderMetrics } from './order-metrics.js';
import { orderToProto } from './order-mapping.js';

export interface OrderRpcOptions {
  readonly defaultTimeoutMs: number;
  readonly listLimitMax: number;
  readonly metrics?: Pick<OrderMetrics, 'placed'>;
  /** The saga backlog as last measured, and the limits beyond which a new order is refused. */
  readonly intake?: {
    readonly backlog: () => { readonly open: number; readonly oldestAgeMs: number };
    readonly maxOpenSagas: () => number;
    readonly maxOpenSagaAgeMs: () => number;
  };
}

/** OrderService over Connect: maps requests to use cases and orders back to the contract. */
export function orderRpcRoutes(deps: OrderDeps, options: OrderRpcOptions) {
  return (router: ConnectRouter) =>
    router.service(OrderService, {
      async placeOrder(request, context) {
        if (options.intake) {
          const backlog = options.intake.backlog();
          if (
            backlog.open >= options.intake.maxOpenSagas() ||
            backlog.oldestAgeMs >= options.intake.maxOpenSagaAgeMs()
          ) {
            throw intakeSaturated(backlog);
          }
        }
        const { order, replayed } = await placeOrder(
          deps,
          {
            customerId: request.customerId,
            idempotencyKey: request.idempotencyKey,
            lines: request.lines.map((l) => ({ sku: l.sku, quantity: l.quantity })),
            paymentMethod: request.paymentMethod,
          },
          deadlineOf(context, options.defaultTimeoutMs),
        );
        if (!replayed) options.metrics?.placed(order);
        return { order: orderToProto(order), replayed };
      },
      async getOrder(request, context) {
        // Customer-facing: always scoped to one customer (an empty id is no "any customer").
        if (!request.customerId) throw customerIdRequired();
        const order = await getOrder(
          deps,
          request.orderId,
          request.customerId,
          deadlineOf(context, options.defaultTimeoutMs),
        );
        return { order: orderToProto(order) };
      },
      async getOrderForOperator(request, context) {
        // Any customer's order: the allowlist (services.order.rpcCallers) admits the operator only.
        const order = await getOrder(
          deps,
          request.orderId,
          undefined,
          deadlineOf(context, options.defaultTimeoutMs),
        );
        return { order: orderToProto(order) };
      },
      async listOrders(request, context) {
        if (!request.customerId) throw customerIdRequired();
        const limit =
          request.limit > 0 ? Math.min(request.limit, options.listLimitMax) : options.listLimitMax;
        const orders = await listOrders(
          deps,
          request.customerId,
          limit,
          deadlineOf(context, options.defaultTimeoutMs),
        );
        return { orders: orders.map(orderToProto) };
      },
    });
}
