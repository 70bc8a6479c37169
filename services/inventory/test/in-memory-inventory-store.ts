import type {
  InventoryStore,
  LockedReservation,
  ReservationChanges,
} from '../src/domain/inventory-store.js';
import type { Product, StockMovement } from '../src/domain/product.js';

type ReservationsStore = Pick<
  InventoryStore,
  'lockReservationsOfOrders' | 'lockProducts' | 'writeReservations' | 'applyStockMovements'
>;

/**
 * The reservation half of InventoryStore in memory, for the use cases' decisions: it holds what
 * the tests give it and records every call, so a test can see what a run locked and wrote. The
 * SQL itself (locks, constraints, one statement per table) is tested against PostgreSQL.
 */
export function inMemoryInventoryStore(
  state: {
    products?: readonly Omit<Product, 'name' | 'reserved' | 'sold'>[];
    reservations?: readonly Omit<LockedReservation, 'expiresAt'>[];
  } = {},
) {
  const products = new Map(
    (state.products ?? []).map((p) => [p.sku, { name: p.sku, reserved: 0, sold: 0, ...p }]),
  );
  const reservations = new Map(
    (state.reservations ?? []).map((r) => [r.orderId, { expiresAt: undefined, ...r }]),
  );
  const calls = {
    lockedOrders: [] as (readonly string[])[],
    lockedSkus: [] as (readonly string[])[],
    writes: [] as ReservationChanges[],
    movements: [] as (readonly StockMovement[])[],
  };
  const store: ReservationsStore = {
    lockReservationsOfOrders(orderIds) {
      calls.lockedOrders.push(orderIds);
      return Promise.resolve(
        new Map(
          orderIds.flatMap((id) => (reservations.has(id) ? [[id, reservations.get(id)!]] : [])),
        ),
      );
    },
    lockProducts(skus) {
      calls.lockedSkus.push(skus);
      return Promise.resolve(
        new Map(skus.flatMap((sku) => (products.has(sku) ? [[sku, products.get(sku)!]] : []))),
      );
    },
    writeReservations(changes) {
      calls.writes.push(changes);
      return Promise.resolve();
    },
    applyStockMovements(movements) {
      calls.movements.push(movements);
      return Promise.resolve();
    },
  };
  return { store, calls };
}
