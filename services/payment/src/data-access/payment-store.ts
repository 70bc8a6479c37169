import type { Sql } from '@orderly/platform';
import type { PaymentStore } from '../domain/payment-store.js';
import { paymentRepository } from './payment-repository.js';

/** The payment store of the open transaction `tx`. */
export function paymentStore(tx: Sql): PaymentStore {
  return {
    lockOrders: (orderIds) => paymentRepository.lockOrders(tx, orderIds),
    findPayments: (orderIds) => paymentRepository.find(tx, orderIds),
    insertPayments: (payments, at) => paymentRepository.insert(tx, payments, at),
    recordCancellations: (cancellations, at) =>
      paymentRepository.recordCancellations(tx, cancellations, at),
  };
}
