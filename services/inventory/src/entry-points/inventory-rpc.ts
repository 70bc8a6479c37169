import type { ConnectRouter } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import { deadlineOf, type Database, type Logger } from '@orderly/platform';
import {
  InventoryService,
  type ProductSchema,
} from '@orderly/inventory-contract/inventory_service';
import { invalidStockAdjustment } from '../domain/inventory-errors.js';
import { isValidSku, validateProductInput, type Product } from '../domain/product.js';
import { inventoryStore } from '../data-access/inventory-store.js';
import { adjustStock } from '../use-cases/adjust-stock.js';
import { listProducts } from '../use-cases/list-products.js';
import { upsertProduct } from '../use-cases/upsert-product.js';

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

/**
 * InventoryService: proto ↔ domain and one use case per call, in one transaction under the
 * caller's deadline. Malformed input is refused before the transaction is opened.
 */
export function inventoryRpc(deps: InventoryRpcDeps): (router: ConnectRouter) => void {
  return (router) =>
    router.service(InventoryService, {
      async listProducts(_request, context) {
        const products = await deps.db.transaction(
          (tx) => listProducts(inventoryStore(tx)),
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
          (tx) => upsertProduct(inventoryStore(tx), input, deps.clock()),
          deadlineOf(context, deps.defaultTimeoutMs),
        );
        deps.log.info({ sku: product.sku }, 'product upserted');
        return { product: toProto(product) };
      },

      async adjustStock(request, context) {
        if (!isValidSku(request.sku))
          throw invalidStockAdjustment(['sku must be 1 to 32 of A-Z, 0-9 and -']);
        const product = await deps.db.transaction(
          (tx) =>
            adjustStock(
              inventoryStore(tx),
              { sku: request.sku, delta: request.delta },
              deps.clock(),
            ),
          deadlineOf(context, deps.defaultTimeoutMs),
        );
        deps.log.info({ sku: product.sku, delta: request.delta }, 'stock adjusted');
        return { product: toProto(product) };
      },
    });
}
