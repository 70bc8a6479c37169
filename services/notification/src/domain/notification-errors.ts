import { AppError } from '@orderly/platform';

/** Every error code the notification service raises. */

/** An order event that can never produce a message (no order id): dead-lettered at once. */
export const notificationEventInvalid = (eventType: string, problem: string) =>
  new AppError('NOTIFICATION_EVENT_INVALID', `${eventType} cannot be notified: ${problem}`, {
    kind: 'invalid',
    permanent: true,
  });
