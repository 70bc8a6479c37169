import type { Database, Logger } from '@orderly/platform';
import { inventoryStore } from '../data-access/inventory-store.js';
import { seedDemoCatalog } from '../use-cases/seed-demo-catalog.js';

export interface DemoCatalogSeedingDeps {
  readonly db: Database;
  readonly log: Logger;
  readonly clock: () => Date;
}

/**
 * At start, when `seedDemoCatalog` is on: the demo catalog is inserted in one transaction if the
 * catalog is empty. Returns how many products were inserted.
 */
export async function seedDemoCatalogAtStart(deps: DemoCatalogSeedingDeps): Promise<number> {
  const inserted = await deps.db.transaction((tx) =>
    seedDemoCatalog(inventoryStore(tx), deps.clock()),
  );
  if (inserted > 0) deps.log.info({ products: inserted }, 'demo catalog seeded');
  return inserted;
}
