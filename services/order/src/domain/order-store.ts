import type { DeadlineOptions } from '@orderly/platform';
import type { Order } from './order.js';

/** Events the order service publishes, by what happened to the order. */
export type OrderEventKind = 'OrderPlaced' | 'PaymentRequested' | 'OrderConfirmed' | 'OrderCancelled';

/**
 * What use cases need from storage, inside one transaction. Implemented in data-access/ on top of
 * SQL and the outbox, so `publish` commits together with the state change.
 */
export interface OrderStore {
  insert(order: Order, idempotencyKey: string, fingerprint: string): Promise<boolean>;
  findByIdempotencyKey(customerId: string, idempotencyKey: string): Promise<{ order: Order; fingerprint: string } | undefined>;
  find(orderId: string, options?: { forUpdate?: boolean }): Promise<Order | undefined>;
  list(customerId: string, limit: number): Promise<Order[]>;
  saveTransition(before: Order, after: Order): Promise<void>;
  lockTimedOut(cutoff: Date, limit: number): Promise<string[]>;
  publish(order: Order, event: OrderEventKind): Promise<void>;
}

export interface OrderDeps {
  /** Runs `work` in one transaction (with the caller's deadline, when there is one). */
  transaction<T>(work: (store: OrderStore) => Promise<T>, deadline?: DeadlineOptions): Promise<T>;
  clock(): Date;
  newId(): string;
}
