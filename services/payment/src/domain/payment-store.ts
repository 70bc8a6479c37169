import type { Payment } from './payment.js';

/**
 * The payment records as payment's use cases read and write them, bound to one transaction
 * (implemented by data-access/payment-store.ts). Every method takes a whole run of orders and is
 * one statement.
 */
export interface PaymentStore {
  /**
   * Serialises everything done for these orders until the transaction ends, so a charge and a
   * cancellation (or two charges) for the same order never interleave: the second one sees what
   * the first one committed. Locks are taken in one fixed order, so two runs that share orders
   * queue behind each other instead of deadlocking.
   */
  lockOrders(orderIds: readonly string[]): Promise<void>;
  /** The payment records of these orders, by order id (orders without one are absent). */
  findPayments(orderIds: readonly string[]): Promise<ReadonlyMap<string, Payment>>;
  /** Records new payments (one per order, never an existing one). */
  insertPayments(payments: readonly Payment[], at: Date): Promise<void>;
  /** Marks these orders' captures refunded and records the voids of orders never charged. */
  recordCancellations(
    cancellations: { readonly refunded: readonly string[]; readonly voided: readonly Payment[] },
    at: Date,
  ): Promise<void>;
}
