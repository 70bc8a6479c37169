import type { ConnectRouter } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import {
  deadlineOf,
  decodePageCursor,
  encodePageCursor,
  type Database,
  type Logger,
} from '@orderly/platform';
import {
  InventoryService,
  type ProductSchema,
} from '@orderly/inventory-contract/inventory_service';
import { cursorInvalid, invalidStockAdjustment } from '../domain/inventory-errors.js';
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
  /** Largest page of ListProducts, and the page size when none is asked for. */
  readonly listLimitMax: number;
}

const productsList = 'products';

/** The SKU a ListProducts cursor continues after (none for ''); CURSOR_INVALID for anything else. */
function skuFromCursor(cursor: string): string | undefined {
  if (cursor === '') return undefined;
  const [sku] = decodePageCursor(productsList, cursor, 1) ?? [];
  if (sku === undefined || !isValidSku(sku)) throw cursorInvalid();
  return sku;
}

function toProto(product: Product): MessageInitShape<typeof ProductSchema> {
  return {
    sku: product.sku,
    name: product.name,
    priceCents: product.priceCents,
    currency: product.currency,
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
      async listProducts(request, context) {
        const after = skuFromCursor(request.cursor);
        const page = await deps.db.transaction(
          (tx) => listProducts(inventoryStore(tx), after, request.limit, deps.listLimitMax),
          deadlineOf(context, deps.defaultTimeoutMs),
        );
        return {
          products: page.products.map(toProto),
          nextCursor:
            page.nextAfter === undefined ? '' : encodePageCursor(productsList, [page.nextAfter]),
        };
      },

      async upsertProduct(request, context) {
        const input = validateProductInput({
          sku: request.sku,
          name: request.name,
          priceCents: request.priceCents,
          currency: request.currency === '' ? undefined : request.currency,
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
