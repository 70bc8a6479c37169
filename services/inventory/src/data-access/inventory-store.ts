import type { Sql } from '@orderly/platform';
import type { InventoryStore } from '../domain/inventory-store.js';
import {
  applyStockMovements,
  listProducts,
  lockProducts,
  recordStockAdjustment,
  seedCatalogIfEmpty,
  upsertProduct,
} from './product-repository.js';
import {
  countReservationsHeldSince,
  lockReservationsOfOrders,
  markStaleReservationsReported,
  writeReservations,
} from './reservation-repository.js';

/** The inventory repositories bound to one transaction: the store the use cases are given. */
export function inventoryStore(sql: Sql): InventoryStore {
  return {
    listProducts: (after, limit) => listProducts(sql, after, limit),
    upsertProduct: (input, now) => upsertProduct(sql, input, now),
    lockProducts: (skus) => lockProducts(sql, skus),
    recordStockAdjustment: (adjustment, now) => recordStockAdjustment(sql, adjustment, now),
    applyStockMovements: (movements, now) => applyStockMovements(sql, movements, now),
    seedCatalogIfEmpty: (catalog, now) => seedCatalogIfEmpty(sql, catalog, now),
    lockReservationsOfOrders: (orderIds, options) =>
      lockReservationsOfOrders(sql, orderIds, options),
    writeReservations: (changes, now) => writeReservations(sql, changes, now),
    markStaleReservationsReported: (now, nextReportAt, limit) =>
      markStaleReservationsReported(sql, now, nextReportAt, limit),
    countReservationsHeldSince: (cutoff) => countReservationsHeldSince(sql, cutoff),
  };
}
