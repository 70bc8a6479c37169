import type { Sql } from '@orderly/platform';
import type { CustomerMessage } from '../domain/notification.js';

export const notificationRepository = {
  /**
   * Records the orders' notifications with one statement (in order id order, so two transactions
   * inserting the same orders wait for each other in one order); returns the order ids that had
   * none yet. One message per order.
   */
  async insertAbsent(
    tx: Sql,
    messages: readonly CustomerMessage[],
    at: Date,
  ): Promise<Set<string>> {
    if (messages.length === 0) return new Set();
    const sorted = [...messages].sort((a, b) =>
      a.orderId < b.orderId ? -1 : a.orderId > b.orderId ? 1 : 0,
    );
    const { rows } = await tx.query<{ order_id: string }>(
      `INSERT INTO notifications (order_id, notification_id, customer_id, kind, text, created_at)
       SELECT m.order_id, m.notification_id, m.customer_id, m.kind, m.text, $6
         FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::text[])
              AS m (order_id, notification_id, customer_id, kind, text)
       ON CONFLICT (order_id) DO NOTHING
       RETURNING order_id`,
      [
        sorted.map((m) => m.orderId),
        sorted.map((m) => m.notificationId),
        sorted.map((m) => m.customerId),
        sorted.map((m) => m.kind),
        sorted.map((m) => m.text),
        at,
      ],
    );
    return new Set(rows.map((row) => row.order_id));
  },
};
