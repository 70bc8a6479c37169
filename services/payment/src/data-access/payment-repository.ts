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
export const orderLockNamespace = 0x7061;

/** SQL for payment records. Everything runs in the caller's transaction, for many orders at once. */
export const paymentRepository = {
  /**
   * Serialises everything done for these orders until the transaction ends, so a charge and a
   * cancellation (or two charges) for the same order never interleave: the second one sees the
   * first one's committed record. One statement; the locks are taken in key order, so two runs
   * that share orders queue behind each other instead of deadlocking. A separate statement from
   * the read that follows it: a read in the same statement would not see what the transaction it
   * waited for committed.
   */
  async lockOrders(tx: Sql, orderIds: readonly string[]): Promise<void> {
    if (orderIds.length === 0) return;
    await tx.query(
      `SELECT pg_advisory_xact_lock($1, k)
         FROM (SELECT DISTINCT hashtext(id) AS k FROM unnest($2::text[]) AS id) AS keys
        ORDER BY k`,
      [orderLockNamespace, orderIds],
    );
  },

  /** The payment records of these orders, by order id (orders without one are absent). */
  async find(tx: Sql, orderIds: readonly string[]): Promise<Map<string, Payment>> {
    if (orderIds.length === 0) return new Map();
    const { rows } = await tx.query<PaymentRow>(
      `SELECT order_id, payment_id, status, amount_cents, provider_ref FROM payments
        WHERE order_id = ANY($1::text[])`,
      [orderIds],
    );
    return new Map(rows.map((row) => [row.order_id, toPayment(row)]));
  },

  /** Records new payments (one per order, never an existing one), in one statement. */
  async insert(tx: Sql, payments: readonly Payment[], at: Date): Promise<void> {
    if (payments.length === 0) return;
    await tx.query(
      `INSERT INTO payments (order_id, payment_id, status, amount_cents, provider_ref, created_at, updated_at)
       SELECT order_id, payment_id, status, amount_cents, provider_ref, $6, $6
         FROM unnest($1::text[], $2::uuid[], $3::text[], $4::bigint[], $5::text[])
           AS p(order_id, payment_id, status, amount_cents, provider_ref)`,
      [
        payments.map((p) => p.orderId),
        payments.map((p) => p.paymentId),
        payments.map((p) => p.status),
        payments.map((p) => p.amountCents),
        payments.map((p) => p.providerRef),
        at,
      ],
    );
  },

  /** Marks captures refunded and records voids of cancelled orders, in one statement. */
  async recordCancellations(
    tx: Sql,
    cancellations: { readonly refunded: readonly string[]; readonly voided: readonly Payment[] },
    at: Date,
  ): Promise<void> {
    const { refunded, voided } = cancellations;
    if (refunded.length === 0 && voided.length === 0) return;
    await tx.query(
      `WITH refunded AS (
         UPDATE payments SET status = 'REFUNDED', updated_at = $4
          WHERE order_id = ANY($1::text[]) AND status = 'CAPTURED')
       INSERT INTO payments (order_id, payment_id, status, amount_cents, provider_ref, created_at, updated_at)
       SELECT order_id, payment_id, 'VOIDED', 0, NULL, $4, $4
         FROM unnest($2::text[], $3::uuid[]) AS v(order_id, payment_id)`,
      [refunded, voided.map((p) => p.orderId), voided.map((p) => p.paymentId), at],
    );
  },
};
