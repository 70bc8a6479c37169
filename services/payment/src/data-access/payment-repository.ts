import type { Sql } from '@orderly/platform';
import type { Payment, PaymentStatus } from '../domain/payment.js';

interface PaymentRow {
  order_id: string;
  payment_id: string;
  status: PaymentStatus;
  amount_cents: string;
  provider_ref: string | null;
}

function toPayment(row: PaymentRow): Payment {
  return {
    orderId: row.order_id,
    paymentId: row.payment_id,
    status: row.status,
    amountCents: BigInt(row.amount_cents),
    providerRef: row.provider_ref,
  };
}

// Advisory lock namespace of the payment service (first key); the second is the order id's hash.
const orderLockNamespace = 0x7061;

export const paymentRepository = {
  /**
   * Serialises everything done for one order until the transaction ends, so a charge and a
   * cancellation (or two charges) for the same order never interleave: the second one sees the
   * first one's committed record.
   */
  async lockOrder(tx: Sql, orderId: string): Promise<void> {
    await tx.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [orderLockNamespace, orderId]);
  },

  async find(tx: Sql, orderId: string): Promise<Payment | undefined> {
    const { rows } = await tx.query<PaymentRow>(
      'SELECT order_id, payment_id, status, amount_cents, provider_ref FROM payments WHERE order_id = $1',
      [orderId],
    );
    const row = rows[0];
    return row === undefined ? undefined : toPayment(row);
  },

  async insert(tx: Sql, payment: Payment, at: Date): Promise<void> {
    await tx.query(
      `INSERT INTO payments (order_id, payment_id, status, amount_cents, provider_ref, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $6)`,
      [
        payment.orderId,
        payment.paymentId,
        payment.status,
        payment.amountCents,
        payment.providerRef,
        at,
      ],
    );
  },

  async markRefunded(tx: Sql, orderId: string, at: Date): Promise<void> {
    await tx.query(
      `UPDATE payments SET status = 'REFUNDED', updated_at = $2 WHERE order_id = $1 AND status = 'CAPTURED'`,
      [orderId, at],
    );
  },
};
