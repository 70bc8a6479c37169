import type { ConnectRouter } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { deadlineOf, type Database, type Logger } from '@orderly/platform';
import {
  InventoryService,
  type ProductSchema,
} from '@orderly/inventory-contract/inventory_service';
import { invalidStockAdjustment, unknownSku } from '../domain/inventory-errors.js';
import {
  applyStockAdjustment,
  isValidSku,
  validateProductInput,
  type Product,
} from '../domain/product.js';
import {
  listProducts,
  lockProducts,
  recordStockAdjustment,
  upsertProduct,
} from '../data-access/product-repository.js';

export interface InventoryRpcDeps {
  readonly db: Database;
  readonly log: Logger;
  readonly clock: () => Date;
  /** Deadline for calls that arrive without one. */
  readonly defaultTimeoutMs: number;
}

function toProto(product: Product): MessageInitShape<typeof ProductSchema> {
  return {
    sku: product.sku,
    name: product.name,
    priceCents: product.priceCents,
    available: product.available,
    reserved: product.reserved,
  };
}

/** InventoryService: proto ↔ domain, one transaction per call under the caller's deadline. */
export function inventoryRpc(deps: InventoryRpcDeps): (router: ConnectRouter) => void {
  return (router) =>
    router.service(InventoryService, {
      async listProducts(_request, context) {
        const products = await deps.db.transaction(
          (tx) => listProducts(tx),
          deadlineOf(context, deps.defaultTimeoutMs),
        );
        return { products: products.map(toProto) };
      },

      async upsertProduct(request, context) {
        const input = validateProductInput({
          sku: request.sku,
          name: request.name,
          priceCents: request.priceCents,
        });
        const product = await deps.db.transaction(
          (tx) => upsertProduct(tx, input, deps.clock()),
          deadlineOf(context, deps.defaultTimeoutMs),
        );
        deps.log.info({ sku: product.sku }, 'product upserted');
        return { product: toProto(product) };
      },

      async adjustStock(request, context) {
        if (!isValidSku(request.sku))
          throw invalidStockAdjustment(['sku must be 1 to 32 of A-Z, 0-9 and -']);
        const product = await deps.db.transaction(
          async (tx) => {
            const current = (await lockProducts(tx, [request.sku])).get(request.sku);
            if (!current) throw unknownSku(request.sku);
            const available = applyStockAdjustment(current, request.delta);
            return recordStockAdjustment(
              tx,
              { sku: current.sku, delta: request.delta, available },
              deps.clock(),
            );
          },
          deadlineOf(context, deps.defaultTimeoutMs),
        );
        deps.log.info({ sku: product.sku, delta: request.delta }, 'stock adjusted');
        return { product: toProto(product) };
      },
    });
}
