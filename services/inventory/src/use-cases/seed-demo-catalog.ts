import { demoCatalog } from '../domain/demo-catalog.js';
import type { InventoryStore } from '../domain/inventory-store.js';

/**
 * Inserts the demo catalog with its initial stock when the catalog is empty (safe when several
 * replicas start together). Returns how many products were inserted: none when any existed.
 */
export function seedDemoCatalog(
  store: Pick<InventoryStore, 'seedCatalogIfEmpty'>,
  now: Date,
): Promise<number> {
  return store.seedCatalogIfEmpty(demoCatalog, now);
}
