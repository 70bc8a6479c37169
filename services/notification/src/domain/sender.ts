import type { CustomerMessage } from './notification.js';

/**
 * The port that delivers a customer message. It is called inside the transaction that records
 * the notification, after the record: if it throws, nothing is recorded and the event is retried
 * later. The messages of a batch are sent together (concurrently, each in its event's trace).
 *
 * Towards the sink this is at-least-once: a rolled-back batch (one of its events failed, so each
 * is applied again on its own), a crash or a failed COMMIT after `send` returned leaves no record,
 * and the event sends the message again. The repeat carries the same `notificationId` (derived
 * from the order id), so a sink that must not show it twice drops it — as the file sender does.
 * The notifications table holds one row per order.
 *
 * A sender whose sink cannot be reached (a webhook endpoint down, a mail relay refusing) throws an
 * `AppError` of kind `unavailable`: the event then waits for the sink (the subscription backs off)
 * and is never dead-lettered for it. Anything else counts against `bus.maxDeliver`.
 */
export interface Sender {
  send(message: CustomerMessage): Promise<void>;
}
