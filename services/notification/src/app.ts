import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  liveConfigOf,
  ServiceRuntime,
  type Bus,
  type Flags,
  type Logger,
  type ServiceConfig,
} from '@orderly/platform';
import type { NotificationConfig } from './config.js';
import type { Sender } from './domain/sender.js';
import { FileSender } from './data-access/file-sender.js';
import { orderOutcomesHandlers } from './entry-points/order-outcomes-consumer.js';

export { notificationConfigSchema, type NotificationConfig } from './config.js';

const migrationsPath = fileURLToPath(new URL('./data-access/migrations', import.meta.url));

/** Event subscriptions of the notification service. */
export const notificationSubscriptions = {
  customerMessages: 'notification.customer-messages',
} as const;

export interface NotificationServiceOptions {
  readonly config: ServiceConfig<NotificationConfig>;
  readonly bus?: Bus;
  readonly flags?: Flags;
  readonly log?: Logger;
  readonly clock?: () => Date;
  /** Defaults to the file sender writing `<dataDir>/<outputFile>`. */
  readonly sender?: Sender;
}

/**
 * Builds the notification service: no RPC API, one consumer that sends each terminal order's
 * customer message (plus health endpoints). Returned not started.
 */
export async function createNotificationService(
  options: NotificationServiceOptions,
): Promise<ServiceRuntime> {
  const config = liveConfigOf(options.config, 'notification');
  const runtime = await ServiceRuntime.create({
    name: 'notification',
    platform: config.platform,
    http: {
      host: config.service.host,
      port: config.service.port,
      operatorPort: config.service.operatorPort,
    },
    database: { name: config.service.database, migrationsPath },
    bus: options.bus,
    log: options.log,
    config,
    flags: options.flags,
  });
  const sender =
    options.sender ??
    new FileSender(join(config.platform.dataDir, config.service.outputFile), runtime.log);
  runtime.consume(
    notificationSubscriptions.customerMessages,
    orderOutcomesHandlers({
      outbox: runtime.outbox,
      sender,
      log: runtime.log,
      clock: options.clock ?? (() => new Date()),
    }),
    // Batched: the file sender writes each notification id once, so a batch that is rolled back
    // and applied again event by event repeats no line.
    { batched: true },
  );
  return runtime;
}
