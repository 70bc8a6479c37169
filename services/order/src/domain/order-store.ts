import type { DeadlineOptions, PreparedEvent } from '@orderly/platform';
import type { Order } from './order.js';

/** Events the order service publishes, by what happened to the order. */
export type OrderEventKind =
  'OrderPlaced' | 'PaymentRequested' | 'OrderConfirmed' | 'OrderCancelled';

/** An order's saga state as loaded (`before`) and as it is to be stored (`after`). */
export interface OrderChange {
  readonly before: Order;
  readonly after: Order;
}

/**
 * What use cases need from storage, inside one transaction. Implemented in data-access/ on top of
 * SQL and the outbox, so `publish` commits together with the state change. The saga's methods work
 * on many orders at once, with one statement each, however many orders a run names.
 */
export interface OrderStore {
  find(orderId: string): Promise<Order | undefined>;
  list(customerId: string, limit: number): Promise<Order[]>;
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
  /** Builds the order's event now, so it carries the caller's trace context; `publish` writes it. */
  prepare(order: Order, event: OrderEventKind): PreparedEvent;
  publish(events: readonly PreparedEvent[]): Promise<void>;
}

/** A new order as it is handed to storage. */
export interface NewOrder {
  readonly order: Order;
  readonly idempotencyKey: string;
  readonly fingerprint: string;
}

/** What storage did with a new order: created it, or found the customer's key already used. */
export type RecordOutcome =
  | { readonly created: true }
  | {
      readonly created: false;
      readonly existing: { order: Order; fingerprint: string } | undefined;
    };

export interface OrderDeps {
  /**
   * Records a new order together with its OrderPlaced event, atomically, unless the customer
   * already used the idempotency key. Concurrent calls may share one transaction (group commit).
   */
  recordNewOrder(record: NewOrder, deadline?: DeadlineOptions): Promise<RecordOutcome>;
  /** Runs `work` in one transaction (with the caller's deadline, when there is one). */
  transaction<T>(work: (store: OrderStore) => Promise<T>, deadline?: DeadlineOptions): Promise<T>;
  clock(): Date;
  newId(): string;
}
