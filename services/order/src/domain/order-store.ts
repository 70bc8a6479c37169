import type { Order, OrderStatus } from './order.js';

/** Events the order service publishes, by what happened to the order. */
export type OrderEventKind =
  | 'OrderPlaced'
  | 'RiskAssessmentRequested'
  | 'PaymentRequested'
  | 'OrderConfirmed'
  | 'OrderCancelled';

/** An order's saga state as loaded (`before`) and as it is to be stored (`after`). */
export interface OrderChange {
  readonly before: Order;
  readonly after: Order;
}

/** A new order as it is handed to storage, with the key and content it was requested with. */
export interface NewOrder {
  readonly order: Order;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
}

/**
 * Where a page of orders ends, in the order every list uses (newest first: placement time, then
 * id, both descending): the last order's placement time as the database keeps it (ISO 8601 with
 * microseconds, UTC) and its id. The next page starts strictly after it, so orders placed
 * meanwhile neither repeat nor shift what follows.
 */
export interface OrderPosition {
  readonly placedAt: string;
  readonly orderId: string;
}

/** Which orders a list holds; every field left out matches every order. */
export interface OrderFilter {
  readonly customerId?: string;
  readonly status?: OrderStatus;
  /** Placed at or after. */
  readonly placedFrom?: Date;
  /** Placed before. */
  readonly placedTo?: Date;
}

/** One page of a list: its orders, and where the next page starts (absent on the last page). */
export interface OrderPage {
  readonly orders: readonly Order[];
  readonly next: OrderPosition | undefined;
}

/**
 * What use cases need from storage, inside one transaction (each use case names the part it
 * uses). Implemented in data-access/ on top of SQL. Every method that takes many orders works on
 * all of them with one statement per table, however many there are.
 */
export interface OrderStore {
  find(orderId: string): Promise<Order | undefined>;
  /** Up to `limit` orders matching `filter` after `after` (from the newest when absent). */
  page(filter: OrderFilter, after: OrderPosition | undefined, limit: number): Promise<OrderPage>;
  /**
   * Inserts the new orders whose customer has not used the idempotency key yet (a second use
   * inside the same call included); returns the ids it inserted.
   */
  insertNew(orders: readonly NewOrder[]): Promise<ReadonlySet<string>>;
  /** The customer's order recorded under `idempotencyKey`, with its request's fingerprint. */
  findByIdempotencyKey(
    customerId: string,
    idempotencyKey: string,
  ): Promise<{ order: Order; fingerprint: string } | undefined>;
  /**
   * Locks the orders that exist among `orderIds` until the transaction ends (in id order, so two
   * runs never wait for each other crosswise) and returns them keyed by the ids as given, as
   * committed when the lock was granted.
   */
  lockForSaga(orderIds: readonly string[]): Promise<ReadonlyMap<string, Order>>;
  /** Locks up to `limit` open orders placed before `cutoff` that nobody else holds, oldest first. */
  lockTimedOut(cutoff: Date, limit: number): Promise<Order[]>;
  /** Stores each order's new state, priced lines and the history entries added since `before`. */
  saveChanges(changes: readonly OrderChange[]): Promise<void>;
}
