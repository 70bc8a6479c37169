import type { Database, DeadlineOptions, GroupCommitOptions, Outbox, Sql } from '@orderly/platform';
import type { OrderStore } from '../domain/order-store.js';
import * as repository from './order-repository.js';

/** The order store of one transaction: the repository's statements, run on `tx`. */
export function orderStore(tx: Sql): OrderStore {
  return {
    find: (orderId) => repository.findOrder(tx, orderId),
    page: (filter, after, limit) => repository.pageOrders(tx, filter, after, limit),
    insertNew: (orders) => repository.insertOrders(tx, orders),
    findByIdempotencyKey: (customerId, idempotencyKey) =>
      repository.findByIdempotencyKey(tx, customerId, idempotencyKey),
    lockForSaga: (orderIds) => repository.lockOrders(tx, orderIds),
    lockTimedOut: (cutoff, limit) => repository.lockTimedOutOrders(tx, cutoff, limit),
    saveChanges: (changes) => repository.saveChanges(tx, changes),
  };
}

/** What the order service's RPC handlers and periodic tasks run their use cases with. */
export interface OrderDeps {
  /**
   * Runs `work` in one transaction (with the caller's deadline, when there is one), given the
   * order store and the transaction itself, on which the events it causes go to the outbox.
   */
  transaction<T>(
    work: (store: OrderStore, tx: Sql) => Promise<T>,
    deadline?: DeadlineOptions,
  ): Promise<T>;
  readonly outbox: Outbox;
  /** How new orders share transactions (group commit); read at each batch. */
  readonly groupCommit: () => GroupCommitOptions;
  readonly clock: () => Date;
  readonly newId: () => string;
}

export function orderDeps(
  db: Database,
  outbox: Outbox,
  clock: () => Date,
  newId: () => string,
  groupCommit: () => GroupCommitOptions,
): OrderDeps {
  return {
    transaction: (work, deadline) => db.transaction((tx) => work(orderStore(tx), tx), deadline),
    outbox,
    groupCommit,
    clock,
    newId,
  };
}
