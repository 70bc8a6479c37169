import type { Client } from '@connectrpc/connect';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { limitAsNumber, type PageLimits } from '../http/json-schemas.js';
import { callUpstream } from '../http/request-deadline.js';
import { productToJsonIn } from './product-json.js';
import { listProductsSchema } from './product-schemas.js';

export interface ProductsRoutesDeps {
  readonly inventoryClient: Client<typeof InventoryService>;
  readonly limits: PageLimits;
}

/** GET /v1/products: the catalog from the inventory service, a page at a time. */
export function registerProductsRoutes(
  app: FastifyInstance,
  { inventoryClient, limits }: ProductsRoutesDeps,
): void {
  app.get<{ Querystring: { limit?: number; cursor?: string } }>(
    '/v1/products',
    {
      schema: listProductsSchema(limits),
      config: { access: 'public', versioned: true },
      preValidation: async (request: FastifyRequest<{ Querystring: { limit?: unknown } }>) => {
        limitAsNumber(request.query);
        return Promise.resolve();
      },
    },
    async (request) => {
      const response = await callUpstream(request.deadline, 'inventory.ListProducts', (options) =>
        inventoryClient.listProducts(
          {
            limit: request.query.limit ?? limits.listLimitMax,
            cursor: request.query.cursor ?? '',
          },
          options,
        ),
      );
      return {
        products: response.products.map(productToJsonIn(request.contractVersion)),
        ...(response.nextCursor ? { next: response.nextCursor } : {}),
      };
    },
  );
}
