import type { DeadlineOptions } from '@orderly/platform';
import type { Order } from './order.js';

/** Events the order service publishes, by what happened to the order. */
export type OrderEventKind =
  'OrderPlaced' | 'PaymentRequested' | 'OrderConfirmed' | 'OrderCancelled';

/**
 * What use cases need from storage, inside one transaction. Implemented in data-access/ on top of
 * SQL and the outbox, so `publish` commits together with the state change.
 */
export interface OrderStore {
  find(orderId: string, options?: { forUpdate?: boolean }): Promise<Order | undefined>;
  list(customerId: string, limit: number): Promise<Order[]>;
  saveTransition(before: Order, after: Order): Promise<void>;
  lockTimedOut(cutoff: Date, limit: number): Promise<string[]>;
  publish(order: Order, event: OrderEventKind): Promise<void>;
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
