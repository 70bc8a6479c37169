import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  consumedEventVersions,
  defineService,
  handlersForVersions,
  type ServiceContext,
} from '@orderly/platform';
import packageJson from '../package.json' with { type: 'json' };
import { notificationConfigSchema, type NotificationConfig } from './config.js';
import type { Sender } from './domain/sender.js';
import { FileSender } from './data-access/file-sender.js';
import { orderOutcomesHandlers } from './entry-points/order-outcomes-consumer.js';
import { notificationTimeline } from './data-access/console-queries.js';

export { notificationConfigSchema, type NotificationConfig } from './config.js';

/** Event subscriptions of the notification service. */
export const notificationSubscriptions = {
  customerMessages: 'notification.customer-messages',
} as const;

/** What a test may put in place of the notification service's own adapters. */
export interface NotificationAdapters {
  /** By default the file sender writing `<dataDir>/<outputFile>`. */
  readonly sender: Sender;
}

/**
 * The notification service: no RPC API, one consumer that sends each terminal order's customer
 * message (plus health endpoints).
 */
export const notificationService = defineService({
  name: 'notification',
  configSchema: notificationConfigSchema,
  database: { migrationsPath: fileURLToPath(new URL('./data-access/migrations', import.meta.url)) },
  wire(
    runtime,
    { live, clock, adapters }: ServiceContext<NotificationConfig, NotificationAdapters>,
  ) {
    const sender =
      adapters.sender ??
      new FileSender(join(live.platform.dataDir, live.service.outputFile), runtime.log);
    // The versions of the order events read: package.json's declaration, narrowed by configuration.
    const versions = consumedEventVersions(
      { service: 'notification', producer: 'order', declared: packageJson.orderly.consumes.order },
      live.service.orderEvents?.versions,
    );
    runtime.consume(
      notificationSubscriptions.customerMessages,
      handlersForVersions(
        orderOutcomesHandlers({ outbox: runtime.outbox, sender, log: runtime.log, clock }),
        versions,
      ),
      // Batched: the file sender writes each notification id once, so a batch that is rolled back
      // and applied again event by event repeats no line.
      { batched: true },
    );
    runtime.timeline((orderId, signal) => notificationTimeline(runtime.db, orderId, signal));
  },
});
