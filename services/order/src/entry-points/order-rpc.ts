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
import {
  cancelKeyRequired,
  customerIdRequired,
  intakeSaturated,
  orderNotFound,
} from '../domain/order-errors.js';
import { isOrderId } from '../domain/order.js';
import type { OrderDeps } from '../data-access/order-store.js';
import { cancelOrder } from '../use-cases/cancel-order.js';
import { getOrder } from '../use-cases/get-order.js';
import { listOrders } from '../use-cases/list-orders.js';
import { searchOrders } from '../use-cases/search-orders.js';
import { prepareOrderEvent } from './order-event-mapping.js';
import { orderIntake } from './order-intake.js';
import type { OrderMetrics } from './order-metrics.js';
import {
  cursorOf,
  orderFilterFromProto,
  orderRequestFromProto,
  orderToProto,
  positionFromCursor,
} from './order-mapping.js';

export interface OrderRpcOptions {
  readonly defaultTimeoutMs: number;
  readonly listLimitMax: number;
  /** How long after its confirmation a customer may still cancel an order. */
  readonly customerCancelWindowMs: number;
  readonly metrics?: Pick<OrderMetrics, 'placed' | 'finished'>;
  /** Logs the per-order failures of PlaceOrders that are not the caller's fault. */
  readonly log: Logger;
  /** The saga backlog as last measured, and the limits beyond which a new order is refused. */
  readonly intake?: {
    readonly backlog: () => { readonly open: number; readonly oldestAgeMs: number };
    readonly maxOpenSagas: () => number;
    readonly maxOpenSagaAgeMs: () => number;
  };
}

const emptyRequest = {
  customerId: '',
  idempotencyKey: '',
  lines: [],
  paymentMethod: '',
  currency: '',
};

/** OrderService over Connect: maps requests to use cases and orders back to the contract. */
export function orderRpcRoutes(deps: OrderDeps, options: OrderRpcOptions) {
  const place = orderIntake(deps);
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
    request: Pick<
      PlaceOrderRequest,
      'customerId' | 'idempotencyKey' | 'lines' | 'paymentMethod' | 'currency'
    >,
    context: HandlerContext,
  ): Promise<PlaceOrderResponse> => {
    const { order, replayed } = await place(
      orderRequestFromProto(request),
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
  /** GetOrder and GetOrderForOperator: an id that is not a UUID names no order (no query). */
  const findOne = async (
    orderId: string,
    customerId: string | undefined,
    context: HandlerContext,
  ) => {
    if (!isOrderId(orderId)) throw orderNotFound(orderId);
    const order = await deps.transaction(
      (store) => getOrder(store, orderId, customerId),
      deadlineOf(context, options.defaultTimeoutMs),
    );
    if (!order) throw orderNotFound(orderId);
    return { order: orderToProto(order) };
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
        return findOne(request.orderId, request.customerId, context);
      },
      async getOrderForOperator(request, context) {
        // Any customer's order: the allowlist (services.order.rpcCallers) admits the operator only.
        return findOne(request.orderId, undefined, context);
      },
      async listOrders(request, context) {
        if (!request.customerId) throw customerIdRequired();
        const after = positionFromCursor(request.cursor);
        const { listLimitMax } = options;
        const page = await deps.transaction(
          (store) => listOrders(store, request.customerId, after, request.limit, listLimitMax),
          deadlineOf(context, options.defaultTimeoutMs),
        );
        return { orders: page.orders.map(orderToProto), nextCursor: cursorOf(page.next) };
      },
      async searchOrders(request, context) {
        // Any customer's orders: the allowlist (services.order.rpcCallers) admits the gateway only.
        const filter = orderFilterFromProto(request);
        const after = positionFromCursor(request.cursor);
        const { listLimitMax } = options;
        const page = await deps.transaction(
          (store) => searchOrders(store, filter, after, request.limit, listLimitMax),
          deadlineOf(context, options.defaultTimeoutMs),
        );
        return { orders: page.orders.map(orderToProto), nextCursor: cursorOf(page.next) };
      },
      async cancelOrder(request, context) {
        if (!request.customerId) throw customerIdRequired();
        if (!request.idempotencyKey) throw cancelKeyRequired();
        if (!isOrderId(request.orderId)) throw orderNotFound(request.orderId);
        const outcome = await deps.transaction(
          async (store, tx) => {
            const decided = await cancelOrder(
              store,
              {
                orderId: request.orderId,
                customerId: request.customerId,
                idempotencyKey: request.idempotencyKey,
                windowMs: options.customerCancelWindowMs,
              },
              deps.clock(),
            );
            if (decided.kind === 'cancelled')
              await deps.outbox.addPrepared(tx, [
                prepareOrderEvent(deps.outbox, decided.order, 'OrderCancelled'),
              ]);
            return decided;
          },
          deadlineOf(context, options.defaultTimeoutMs),
        );
        if (outcome.kind === 'cancelled') {
          options.log.info(
            { orderId: outcome.order.id, after: outcome.order.history.at(-2)?.status },
            'order cancelled at the customer request',
          );
          options.metrics?.finished(outcome.order);
        }
        return {
          order: orderToProto(outcome.order),
          replayed: outcome.kind === 'unchanged' && outcome.replayed,
        };
      },
    });
}
