import type { InventoryStore } from '../domain/inventory-store.js';
import type { Product } from '../domain/product.js';

/** The catalog with each product's stock, in SKU order. */
export function listProducts(store: Pick<InventoryStore, 'listProducts'>): Promise<Product[]> {
  return store.listProducts();
}
