import type { DemoProduct } from './demo-catalog.js';
import type { Product, ProductInput, StockMovement } from './product.js';
import type { StockLine, PricedLine, ReservationStatus } from './reservation.js';

/**
 * What inventory's use cases read and write, bound to one transaction (implemented by
 * data-access/inventory-store.ts). The lock methods lock in the one global order that keeps
 * inventory's transactions free of deadlocks (data-access/reservation-repository.ts, "lock
 * order"): first the orders' reservations, then the products; each is one statement, and so is
 * each write of a batch.
 */
export interface InventoryStore {
  /**
   * Up to `limit` products in SKU order after the SKU `after` (from the first when absent), and
   * whether more follow.
   */
  listProducts(after: string | undefined, limit: number): Promise<ProductPage>;
  /** Creates the product with no stock, or renames/reprices it keeping its stock. */
  upsertProduct(input: ProductInput, now: Date): Promise<Product>;
  /** Locks the products with these SKUs (in SKU order) and returns those that exist. */
  lockProducts(skus: readonly string[]): Promise<ReadonlyMap<string, Product>>;
  /** Sets a locked product's available stock after an operator's adjustment, with its ledger row. */
  recordStockAdjustment(adjustment: StockAdjustment, now: Date): Promise<Product>;
  /** Moves the counters of locked products (several movements of one SKU are added up). */
  applyStockMovements(movements: readonly StockMovement[], now: Date): Promise<void>;
  /** Inserts the catalog if there is no product yet; returns how many were inserted. */
  seedCatalogIfEmpty(catalog: readonly DemoProduct[], now: Date): Promise<number>;
  /**
   * Locks these orders and their reservation rows; returns the reservations that exist (with
   * their lines when `withLines`).
   */
  lockReservationsOfOrders(
    orderIds: readonly string[],
    options?: { readonly withLines?: boolean },
  ): Promise<ReadonlyMap<string, LockedReservation>>;
  /**
   * Writes a run's new reservations and the status changes of locked ones. Throws when one was
   * not written (a reservation for that order appeared meanwhile; a retry decides again).
   */
  writeReservations(changes: ReservationChanges, now: Date): Promise<void>;
  /**
   * Up to `limit` reservations still RESERVED past their report time, oldest first, get their
   * next report time and are returned; one being settled right now is skipped.
   */
  markStaleReservationsReported(
    now: Date,
    nextReportAt: Date,
    limit: number,
  ): Promise<StaleReservation[]>;
  /** How many reservations are still RESERVED although made at or before `cutoff`. */
  countReservationsHeldSince(cutoff: Date): Promise<number>;
}

/** One page of the catalog: its products, and the last SKU when another page follows. */
export interface ProductPage {
  readonly products: readonly Product[];
  readonly nextAfter: string | undefined;
}

/** An operator's change of a product's available stock. */
export interface StockAdjustment {
  readonly sku: string;
  readonly delta: number;
  /** The available stock after the change. */
  readonly available: number;
}

export interface StoredReservation {
  readonly id: string;
  readonly orderId: string;
  readonly status: ReservationStatus;
  readonly expiresAt: Date | undefined;
}

/** A locked reservation with the lines it holds (none for a REJECTED one or a tombstone). */
export interface LockedReservation extends StoredReservation {
  readonly lines: readonly StockLine[];
}

export interface StaleReservation extends StoredReservation {
  readonly createdAt: Date;
}

/** A reservation to insert; its id is chosen by the caller, so events can name it before the write. */
export interface NewReservation {
  readonly id: string;
  readonly orderId: string;
  readonly status: ReservationStatus;
  readonly createdAt: Date;
  readonly expiresAt?: Date | undefined;
  readonly settledAt?: Date | undefined;
  readonly lines?: readonly PricedLine[];
}

/** A locked reservation going `from` → `to`. */
export interface ReservationTransition {
  readonly id: string;
  readonly orderId: string;
  readonly from: ReservationStatus;
  readonly to: ReservationStatus;
}

/** What one run writes to reservations: the new ones and the settled ones. */
export interface ReservationChanges {
  readonly inserts: readonly NewReservation[];
  readonly transitions: readonly ReservationTransition[];
}
