import type { Client } from '@connectrpc/connect';
import type { FastifyInstance } from 'fastify';
import type { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { callUpstream } from '../http/request-deadline.js';
import { productToJson } from './product-json.js';
import { listProductsSchema } from './product-schemas.js';

export interface ProductsRoutesDeps {
  readonly inventoryClient: Client<typeof InventoryService>;
}

/** GET /v1/products: the catalog from the inventory service. */
export function registerProductsRoutes(
  app: FastifyInstance,
  { inventoryClient }: ProductsRoutesDeps,
): void {
  app.get(
    '/v1/products',
    { schema: listProductsSchema, config: { access: 'public' } },
    async (request) => {
      const response = await callUpstream(request.deadline, 'inventory.ListProducts', (options) =>
        inventoryClient.listProducts({}, options),
      );
      return { products: response.products.map(productToJson) };
    },
  );
}
