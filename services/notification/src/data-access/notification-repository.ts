import type { Sql } from '@orderly/platform';
import type { CustomerMessage } from '../domain/notification.js';

export const notificationRepository = {
  /** Records the order's notification; false when the order already has one. */
  async insertIfAbsent(tx: Sql, message: CustomerMessage, at: Date): Promise<boolean> {
    const { rowCount } = await tx.query(
      `INSERT INTO notifications (order_id, notification_id, customer_id, kind, text, created_at)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (order_id) DO NOTHING`,
      [message.orderId, message.notificationId, message.customerId, message.kind, message.text, at],
    );
    return rowCount === 1;
  },
};
