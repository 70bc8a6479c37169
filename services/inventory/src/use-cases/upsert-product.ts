import type { InventoryStore } from '../domain/inventory-store.js';
import type { Product, ProductInput } from '../domain/product.js';

/**
 * Adds a product to the catalog with no stock, or renames and reprices it keeping its stock.
 * `input` is an operator's product as `validateProductInput` returned it (checked before the
 * transaction is opened, so an invalid one costs no round trip).
 */
export function upsertProduct(
  store: Pick<InventoryStore, 'upsertProduct'>,
  input: ProductInput,
  now: Date,
): Promise<Product> {
  return store.upsertProduct(input, now);
}
