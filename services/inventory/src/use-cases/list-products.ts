import type { InventoryStore, ProductPage } from '../domain/inventory-store.js';

/**
 * A page of the catalog with each product's stock, in SKU order, after the SKU `after` (from the
 * first when absent): `requestedLimit` products, or `limitMax` when none (0) or more is asked for.
 */
export function listProducts(
  store: Pick<InventoryStore, 'listProducts'>,
  after: string | undefined,
  requestedLimit: number,
  limitMax: number,
): Promise<ProductPage> {
  const limit = requestedLimit > 0 ? Math.min(requestedLimit, limitMax) : limitMax;
  return store.listProducts(after, limit);
}
