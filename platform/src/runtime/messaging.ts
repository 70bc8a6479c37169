import type { Bus, Subscription } from '../bus/index.js';
import type { LiveConfig, PlatformConfig } from '../config/index.js';
import type { Database } from '../db/index.js';
import type { FaultInjector } from '../faults/index.js';
import { pruneInbox, startEventConsumer, type EventHandler } from '../inbox/index.js';
import type { Logger } from '../log/index.js';
import { OutboxRelay, type Outbox } from '../outbox/index.js';
import type { MessagingTelemetry, Telemetry } from '../telemetry/index.js';
import type { Scheduler } from './scheduler.js';

/** What the event side reads from its service (the ServiceRuntime), at the time it uses it. */
export interface MessagingService {
  /** The start configuration: a subscription's options are fixed when it starts. */
  readonly options: { readonly platform: PlatformConfig };
  readonly live: LiveConfig<unknown>;
  readonly log: Logger;
  readonly faults: FaultInjector;
  readonly telemetry: Telemetry;
  readonly outbox: Outbox;
  /** Asked for only when a consumer subscribes; they throw when the service has none. */
  readonly db: Database;
  readonly bus: Bus;
}

/**
 * The event side of a service: its inbox consumers, the outbox relay that publishes what it
 * commits, and the task that prunes old inbox rows.
 */
export class ServiceMessaging {
  private readonly consumers: {
    name: string;
    handlers: readonly EventHandler[];
    batched: boolean;
  }[] = [];
  private readonly subscriptions: Subscription[] = [];
  private readonly subscribedNames: string[] = [];
  private relay: OutboxRelay | undefined;

  constructor(private readonly service: MessagingService) {}

  private get telemetry(): MessagingTelemetry {
    return { telemetry: this.service.telemetry, system: this.service.options.platform.bus.kind };
  }

  /** Every subscription this service consumes (subscribed or not yet). */
  subscriptionNames(): string[] {
    return [...this.subscribedNames, ...this.consumers.map((c) => c.name)];
  }

  /** See `ServiceRuntime.consume`. */
  consume(subscription: string, handlers: readonly EventHandler[], batched: boolean): void {
    this.consumers.push({ name: subscription, handlers, batched });
  }

  /** Subscribes the consumers added since the last call. */
  async subscribe(): Promise<void> {
    const { options, live, log, faults } = this.service;
    const busConfig = options.platform.bus;
    for (const consumer of this.consumers.splice(0)) {
      this.subscribedNames.push(consumer.name);
      this.subscriptions.push(
        await startEventConsumer(
          {
            bus: faults.wrapBus(this.service.bus),
            db: this.service.db,
            log,
            telemetry: this.telemetry,
          },
          consumer.name,
          consumer.handlers,
          {
            maxDeliver: busConfig.maxDeliver,
            ackWaitMs: busConfig.ackWaitMs,
            retryBackoffMs: busConfig.retryBackoffMs,
            concurrency: busConfig.consumerConcurrency,
            subjectPrefix: busConfig.subjectPrefix,
            ...(consumer.batched ? { batch: () => live.platform.bus.consumerBatch } : {}),
          },
        ),
      );
    }
  }

  /**
   * With a database and a bus, starts the relay: from then on, what commits outbox rows hands them
   * to it (publish on commit). With a database, adds the `inbox-cleanup` task: inbox rows outlive
   * the bus's redelivery horizon (checked by the config schema), then go; a pass stops between
   * batches once `continues` is false.
   */
  start(
    database: Database | undefined,
    bus: Bus | undefined,
    scheduler: Scheduler,
    continues: () => boolean,
  ): void {
    const { options, live, log, faults, outbox } = this.service;
    if (database && bus) {
      // The relay reads its options each time it uses them, so the reloadable ones follow the configuration.
      const outboxOptions = new Proxy({} as PlatformConfig['outbox'], {
        get: (_target, key) => live.platform.outbox[key as keyof PlatformConfig['outbox']],
      });
      this.relay = new OutboxRelay(
        database,
        faults.wrapBus(bus),
        log,
        outboxOptions,
        this.telemetry,
      );
      this.relay.start();
      outbox.handOffTo(this.relay);
    }
    if (!database) return;
    scheduler.every(
      'inbox-cleanup',
      () => options.platform.inbox.cleanupIntervalMs,
      async () => {
        const { retentionMs, cleanupBatchSize } = live.platform.inbox;
        const deleted = await pruneInbox(database, {
          retentionMs,
          batchSize: cleanupBatchSize,
          continues,
        });
        if (deleted > 0) log.debug({ deleted }, 'old inbox rows deleted');
      },
    );
  }

  /**
   * Stops the consumers after their current deliveries, then the relay after its pass. Call it once
   * nothing else writes: any later outbox row is due at once for the next relay's start.
   */
  async stop(): Promise<void> {
    await Promise.all(this.subscriptions.map((s) => s.stop()));
    this.service.outbox.handOffTo(undefined);
    await this.relay?.stop();
  }
}
