import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { Client } from '@connectrpc/connect';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IdentityService } from '@orderly/identity-contract/identity_service';
import type { InventoryService } from '@orderly/inventory-contract/inventory_service';
import type { OrderService } from '@orderly/order-contract/order_service';
import {
  adjustStockSchema,
  rotateKeysSchema,
  searchOrdersSchema,
  upsertProductSchema,
} from './admin-schemas.js';
import { rotationToJson } from '../auth/auth-routes.js';
import { upstreamInvalidResponse, validationFailed } from '../http/http-errors.js';
import { limitAsNumber, type PageLimits } from '../http/json-schemas.js';
import type { UpstreamAdmission } from '../http/upstream-admission.js';
import { adminOrderToJson, statusFromName, type OrderJson } from '../orders/order-json.js';
import { productToJson } from '../products/product-json.js';
import { callUpstream } from '../http/request-deadline.js';

export interface AdminRoutesDeps {
  readonly inventoryClient: Client<typeof InventoryService>;
  readonly identityClient: Client<typeof IdentityService>;
  readonly orderClient: Client<typeof OrderService>;
  /** Every call to the order service goes through it (503 + Retry-After when at capacity). */
  readonly orderAdmission: UpstreamAdmission;
  readonly limits: PageLimits;
  /** Called after a rotation succeeded, so the gateway's cached JWKS carries the new key. */
  readonly onKeysRotated: () => Promise<void>;
}

interface SearchQuery {
  status?: OrderJson['status'];
  customer?: string;
  from?: string;
  to?: string;
  limit?: number;
  cursor?: string;
}

/**
 * GET /v1/admin/orders, POST /v1/admin/products, /v1/admin/stock and /v1/admin/keys/rotate: the
 * admin role only.
 */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): void {
  const { inventoryClient, identityClient, orderClient, orderAdmission, limits, onKeysRotated } =
    deps;

  app.get<{ Querystring: SearchQuery }>(
    '/v1/admin/orders',
    {
      schema: searchOrdersSchema(limits),
      config: { access: 'admin' },
      preValidation: async (request: FastifyRequest<{ Querystring: { limit?: unknown } }>) => {
        limitAsNumber(request.query);
        return Promise.resolve();
      },
    },
    async (request, reply) => {
      const { status, customer, from, to, limit, cursor } = request.query;
      const placedFrom = from === undefined ? undefined : new Date(from);
      const placedTo = to === undefined ? undefined : new Date(to);
      if (placedFrom && placedTo && placedFrom >= placedTo)
        throw validationFailed('querystring/to must be after querystring/from');
      const response = await orderAdmission.run(reply, () =>
        callUpstream(request.deadline, 'order.SearchOrders', (options) =>
          orderClient.searchOrders(
            {
              ...(status ? { status: statusFromName(status) } : {}),
              customerId: customer ?? '',
              ...(placedFrom ? { placedFrom: timestampFromDate(placedFrom) } : {}),
              ...(placedTo ? { placedTo: timestampFromDate(placedTo) } : {}),
              limit: limit ?? limits.listLimitMax,
              cursor: cursor ?? '',
            },
            options,
          ),
        ),
      );
      return {
        orders: response.orders.map(adminOrderToJson),
        ...(response.nextCursor ? { next: response.nextCursor } : {}),
      };
    },
  );

  app.post<{ Body: { sku: string; name: string; priceCents: number } }>(
    '/v1/admin/products',
    { schema: upsertProductSchema, config: { access: 'admin' } },
    async (request) => {
      const { sku, name, priceCents } = request.body;
      const { product } = await callUpstream(
        request.deadline,
        'inventory.UpsertProduct',
        (options) =>
          inventoryClient.upsertProduct({ sku, name, priceCents: BigInt(priceCents) }, options),
      );
      if (!product) throw upstreamInvalidResponse('inventory');
      return productToJson(product);
    },
  );

  app.post<{ Body: { sku: string; delta: number } }>(
    '/v1/admin/stock',
    { schema: adjustStockSchema, config: { access: 'admin' } },
    async (request) => {
      const { sku, delta } = request.body;
      const { product } = await callUpstream(request.deadline, 'inventory.AdjustStock', (options) =>
        inventoryClient.adjustStock({ sku, delta }, options),
      );
      if (!product) throw upstreamInvalidResponse('inventory');
      return productToJson(product);
    },
  );

  app.post(
    '/v1/admin/keys/rotate',
    {
      schema: rotateKeysSchema,
      config: { access: 'admin' },
      preValidation: async (request) => {
        const { body } = request;
        const empty =
          body === undefined ||
          (typeof body === 'object' &&
            body !== null &&
            !Array.isArray(body) &&
            Object.keys(body).length === 0);
        if (!empty) throw validationFailed('body must be empty (or {})');
        return Promise.resolve();
      },
    },
    async (request) => {
      const response = await callUpstream(
        request.deadline,
        'identity.RotateSigningKey',
        (options) => identityClient.rotateSigningKey({}, options),
      );
      // The rotation happened; a failed refresh only delays the JWKS until the next one.
      await onKeysRotated().catch((error: unknown) =>
        request.log.warn({ err: error }, 'jwks refresh after rotation failed'),
      );
      return rotationToJson(response);
    },
  );
}
