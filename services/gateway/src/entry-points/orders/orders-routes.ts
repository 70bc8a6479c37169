import type { Client } from '@connectrpc/connect';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { OrderService } from '@orderly/order-contract/order_service';
import { findAppError, type Flags, type Telemetry } from '@orderly/platform';
import { orderNotFound, validationFailed } from '../http/http-errors.js';
import { limitAsNumber } from '../http/json-schemas.js';
import { callUpstream } from '../http/request-deadline.js';
import { principalOf } from '../http/request-security.js';
import type { UpstreamAdmission } from '../http/upstream-admission.js';
import type { OrderIntakeBatcher } from './order-intake-batcher.js';
import { orderToJsonIn, type PlaceOrderBody } from './order-json.js';
import { assertBodyMatchesVersion } from './place-order-versions.js';
import { assertWithinLineLimit } from './order-line-limit.js';
import {
  cancelOrderSchema,
  getOrderSchema,
  listOrdersSchema,
  placeOrderSchema,
  type OrderLimits,
} from './order-schemas.js';

export interface OrdersRoutesDeps {
  readonly orderClient: Client<typeof OrderService>;
  /** PlaceOrder goes through it: concurrent orders share one PlaceOrders call. */
  readonly orderIntake: OrderIntakeBatcher;
  /** Every call to the order service goes through it (503 + Retry-After when at capacity). */
  readonly orderAdmission: UpstreamAdmission;
  /** Names the order a request is about on its span (`order.id`). */
  readonly telemetry: Pick<Telemetry, 'correlate'>;
  readonly limits: OrderLimits;
  /** Runtime decisions per customer (`order-max-lines`); absent in tests that do not need them. */
  readonly flags?: Flags;
}

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Before validation, so a malformed id is the same 404 as an unknown one, not a 400. */
async function malformedIdIsNotFound(request: FastifyRequest<{ Params: { orderId: string } }>) {
  if (!uuidPattern.test(request.params.orderId)) throw orderNotFound();
  return Promise.resolve();
}

/** Whatever the upstream says about a missing order, the answer is the gateway's one 404. */
function notFoundAsOne(error: unknown): never {
  if (findAppError(error)?.kind === 'not-found') throw orderNotFound(error);
  throw error;
}

/**
 * POST /v1/orders (batched with concurrent ones into PlaceOrders), GET /v1/orders/{orderId},
 * GET /v1/orders (paged), POST /v1/orders/{orderId}/cancel: Connect calls mapped to JSON.
 */
export function registerOrdersRoutes(
  app: FastifyInstance,
  { orderClient, orderIntake, orderAdmission, limits, telemetry, flags }: OrdersRoutesDeps,
): void {
  app.post<{ Body: PlaceOrderBody; Headers: { 'idempotency-key': string } }>(
    '/v1/orders',
    { schema: placeOrderSchema(limits), config: { access: 'user', versioned: true } },
    async (request, reply) => {
      const { lines, paymentMethod } = request.body;
      const currency = assertBodyMatchesVersion(request.body, request.contractVersion);
      await assertWithinLineLimit(flags, principalOf(request).sub, lines.length);
      const response = await orderAdmission.run(
        reply,
        () =>
          callUpstream(request.deadline, 'order.PlaceOrder', (options) =>
            orderIntake.place(
              {
                customerId: principalOf(request).sub,
                idempotencyKey: request.headers['idempotency-key'],
                lines: lines.map(({ sku, quantity }) => ({ sku, quantity })),
                paymentMethod,
                currency,
              },
              options,
            ),
          ),
        'PlaceOrder',
      );
      if (!response.order) throw orderNotFound();
      const order = orderToJsonIn(request.contractVersion)(response.order);
      telemetry.correlate({ 'order.id': order.orderId });
      reply.code(202).header('location', `/v1/orders/${encodeURIComponent(order.orderId)}`);
      if (response.replayed) reply.header('idempotent-replayed', 'true');
      return order;
    },
  );

  app.get<{ Params: { orderId: string } }>(
    '/v1/orders/:orderId',
    {
      schema: getOrderSchema(limits),
      config: { access: 'user', versioned: true },
      preValidation: malformedIdIsNotFound,
    },
    async (request, reply) => {
      telemetry.correlate({ 'order.id': request.params.orderId });
      const response = await orderAdmission
        .run(reply, () =>
          callUpstream(request.deadline, 'order.GetOrder', (options) =>
            orderClient.getOrder(
              { orderId: request.params.orderId, customerId: principalOf(request).sub },
              options,
            ),
          ),
        )
        .catch(notFoundAsOne);
      if (!response.order) throw orderNotFound();
      return orderToJsonIn(request.contractVersion)(response.order);
    },
  );

  app.post<{ Params: { orderId: string }; Headers: { 'idempotency-key': string } }>(
    '/v1/orders/:orderId/cancel',
    {
      schema: cancelOrderSchema(limits),
      config: { access: 'user', versioned: true },
      preValidation: async (request: FastifyRequest<{ Params: { orderId: string } }>) => {
        await malformedIdIsNotFound(request);
        const { body } = request;
        const empty =
          body === undefined ||
          body === null ||
          (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
        if (!empty) throw validationFailed('body must be empty (or {})');
      },
    },
    async (request, reply) => {
      telemetry.correlate({ 'order.id': request.params.orderId });
      const response = await orderAdmission
        .run(reply, () =>
          callUpstream(request.deadline, 'order.CancelOrder', (options) =>
            orderClient.cancelOrder(
              {
                orderId: request.params.orderId,
                customerId: principalOf(request).sub,
                idempotencyKey: request.headers['idempotency-key'],
              },
              options,
            ),
          ),
        )
        .catch(notFoundAsOne);
      if (!response.order) throw orderNotFound();
      if (response.replayed) reply.header('idempotent-replayed', 'true');
      return orderToJsonIn(request.contractVersion)(response.order);
    },
  );

  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/orders',
    {
      schema: listOrdersSchema(limits),
      config: { access: 'user', versioned: true },
      preValidation: async (request: FastifyRequest<{ Querystring: { limit?: unknown } }>) => {
        limitAsNumber(request.query);
        return Promise.resolve();
      },
    },
    async (request, reply) => {
      const response = await orderAdmission.run(reply, () =>
        callUpstream(request.deadline, 'order.ListOrders', (options) =>
          orderClient.listOrders(
            {
              customerId: principalOf(request).sub,
              limit: request.query.limit ?? limits.listLimitMax,
              cursor: request.query.cursor ?? '',
            },
            options,
          ),
        ),
      );
      return {
        orders: response.orders.map(orderToJsonIn(request.contractVersion)),
        ...(response.nextCursor ? { next: response.nextCursor } : {}),
      };
    },
  );
}
