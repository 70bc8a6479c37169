import type { ConnectRouter, HandlerContext } from '@connectrpc/connect';
import {
  deadlineOf,
  errorCodeHeader,
  inTraceOf,
  sheddingHeader,
  toConnectError,
  type Logger,
} from '@orderly/platform';
import {
  OrderService,
  type PlaceOrderRequest,
  type PlaceOrderResponse,
  type PlaceOrderResult,
} from '@orderly/order-contract/order_service';
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
  /** Logs the per-order failures of PlaceOrders that are not the caller's fault. */
  readonly log: Logger;
  /** The saga backlog as last measured, and the limits beyond which a new order is refused. */
  readonly intake?: {
    readonly backlog: () => { readonly open: number; readonly oldestAgeMs: number };
    readonly maxOpenSagas: () => number;
    readonly maxOpenSagaAgeMs: () => number;
  };
}

const emptyRequest = { customerId: '', idempotencyKey: '', lines: [], paymentMethod: '' };

/** OrderService over Connect: maps requests to use cases and orders back to the contract. */
export function orderRpcRoutes(deps: OrderDeps, options: OrderRpcOptions) {
  /** Intake backpressure: refuses the whole call while too many sagas are open or too old. */
  const refuseWhenSaturated = (): void => {
    if (!options.intake) return;
    const backlog = options.intake.backlog();
    if (
      backlog.open >= options.intake.maxOpenSagas() ||
      backlog.oldestAgeMs >= options.intake.maxOpenSagaAgeMs()
    ) {
      throw intakeSaturated(backlog);
    }
  };
  const placeOne = async (
    request: Pick<PlaceOrderRequest, 'customerId' | 'idempotencyKey' | 'lines' | 'paymentMethod'>,
    context: HandlerContext,
  ): Promise<PlaceOrderResponse> => {
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
    return { order: orderToProto(order), replayed } as PlaceOrderResponse;
  };
  /** The error PlaceOrder would have answered for one order, as a PlaceOrders result. */
  const placeOrderError = (error: unknown) => {
    const answer = toConnectError(error, 'order.v1.OrderService/PlaceOrders', options.log);
    return {
      connectCode: answer.code,
      errorCode: answer.metadata.get(errorCodeHeader) ?? '',
      message: answer.rawMessage,
      shedding: answer.metadata.get(sheddingHeader) === '1',
    };
  };
  return (router: ConnectRouter) =>
    router.service(OrderService, {
      async placeOrder(request, context) {
        refuseWhenSaturated();
        return placeOne(request, context);
      },
      async placeOrders(request, context) {
        refuseWhenSaturated();
        // Each order joins the same group commit as a single PlaceOrder would, in its own trace.
        const results = await Promise.all(
          request.orders.map((item) =>
            inTraceOf(item.traceContext, (): Promise<PlaceOrderResult> =>
              placeOne(item.order ?? emptyRequest, context).then(
                (placed) => ({ outcome: { case: 'placed', value: placed } }) as PlaceOrderResult,
                (error: unknown) =>
                  ({
                    outcome: { case: 'error', value: placeOrderError(error) },
                  }) as PlaceOrderResult,
              ),
            ),
          ),
        );
        return { results };
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
