import type { Client } from '@connectrpc/connect';
import type { FastifyInstance } from 'fastify';
import type { IdentityService } from '@orderly/identity-contract/identity_service';
import type { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { adjustStockSchema, rotateKeysSchema, upsertProductSchema } from './admin-schemas.js';
import { rotationToJson } from '../auth/auth-routes.js';
import { upstreamInvalidResponse, validationFailed } from '../http/http-errors.js';
import { productToJson } from '../products/product-json.js';
import { callUpstream } from '../http/request-deadline.js';

export interface AdminRoutesDeps {
  readonly inventoryClient: Client<typeof InventoryService>;
  readonly identityClient: Client<typeof IdentityService>;
  /** Called after a rotation succeeded, so the gateway's cached JWKS carries the new key. */
  readonly onKeysRotated: () => Promise<void>;
}

/** POST /v1/admin/products, /v1/admin/stock and /v1/admin/keys/rotate: the admin role only. */
export function registerAdminRoutes(app: FastifyInstance, deps: AdminRoutesDeps): void {
  const { inventoryClient, identityClient, onKeysRotated } = deps;

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
