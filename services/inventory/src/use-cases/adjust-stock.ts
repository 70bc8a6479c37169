import { unknownSku } from '../domain/inventory-errors.js';
import type { InventoryStore } from '../domain/inventory-store.js';
import { applyStockAdjustment, type Product } from '../domain/product.js';

export type AdjustStockStore = Pick<InventoryStore, 'lockProducts' | 'recordStockAdjustment'>;

/**
 * An operator adds (`delta` > 0) or removes units of a product's available stock; the change is
 * recorded in the stock ledger. Throws INVENTORY_UNKNOWN_SKU for a product that does not exist,
 * and refuses a zero delta or one that would take available stock below zero.
 */
export async function adjustStock(
  store: AdjustStockStore,
  adjustment: { readonly sku: string; readonly delta: number },
  now: Date,
): Promise<Product> {
  const { sku, delta } = adjustment;
  const current = (await store.lockProducts([sku])).get(sku);
  if (!current) throw unknownSku(sku);
  const available = applyStockAdjustment(current, delta);
  return store.recordStockAdjustment({ sku: current.sku, delta, available }, now);
}
