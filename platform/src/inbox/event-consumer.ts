import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { busHeaders, type Bus, type Delivery, type Subscription, type SubscriptionOptions } from '../bus/bus.js';
import type { Database, Sql } from '../db/index.js';
import { AppError } from '../errors/index.js';
import { decodeEvent, eventSubject } from '../events/index.js';
import type { Logger } from '../log/index.js';
import { registerSubscription, traceDelivery, type MessagingTelemetry } from '../telemetry/index.js';

/**
 * Applies events exactly once per subscription: the inbox row `(subscription, event_id)` and the
 * handler's effects commit in one transaction, and the delivery is acknowledged only after that
 * commit. A redelivered event finds its inbox row and is skipped. Each delivery is processed in a
 * span that continues the publisher's trace (platform/src/telemetry/messaging.ts).
 */
export interface EventContext {
  readonly eventId: string;
  readonly subscription: string;
  readonly attempt: number;
  readonly headers: Readonly<Record<string, string>>;
}

export interface EventHandler {
  readonly schema: DescMessage;
  handle(tx: Sql, event: unknown, context: EventContext): Promise<void>;
}

/** Binds a handler to the event type it accepts, keeping the event typed inside. */
export function on<Desc extends DescMessage>(
  schema: Desc,
  handle: (tx: Sql, event: MessageShape<Desc>, context: EventContext) => Promise<void>,
): EventHandler {
  return { schema, handle: (tx, event, context) => handle(tx, event as MessageShape<Desc>, context) };
}

export type ConsumerOptions = Omit<SubscriptionOptions, 'name' | 'subjects'> & { readonly subjectPrefix: string };

export async function startEventConsumer(
  deps: { bus: Bus; db: Database; log: Logger; telemetry?: MessagingTelemetry },
  subscription: string,
  handlers: readonly EventHandler[],
  options: ConsumerOptions,
): Promise<Subscription> {
  const byType = new Map(handlers.map((h) => [h.schema.typeName, h]));
  const apply = async (delivery: Delivery): Promise<void> => {
    const type = delivery.headers[busHeaders.eventType];
    const handler = type === undefined ? undefined : byType.get(type);
    if (!handler) {
      throw new AppError('EVENT_TYPE_UNKNOWN', `subscription ${subscription} has no handler for ${type ?? '(no type)'}`, {
        permanent: true,
      });
    }
    const event = decodeEvent(handler.schema, delivery.data);
    const eventId = delivery.headers[busHeaders.eventId] ?? delivery.id;
    const context: EventContext = { eventId, subscription, attempt: delivery.attempt, headers: delivery.headers };
    const applied = await deps.db.transaction(async (tx) => {
      const inserted = await tx.query(
        'INSERT INTO inbox (subscription, event_id, event_type) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING',
        [subscription, eventId, type],
      );
      if (inserted.rowCount === 0) return false;
      await handler.handle(tx, event, context);
      return true;
    });
    if (!applied) deps.log.debug({ subscription, eventId, type }, 'duplicate event skipped');
  };
  registerSubscription(deps.telemetry?.telemetry, subscription);
  const handle = (delivery: Delivery): Promise<void> =>
    traceDelivery(deps.telemetry, delivery, options.maxDeliver, async () => {
      try {
        await apply(delivery);
      } catch (error) {
        // Inside the span, so the line carries the delivery's trace_id.
        deps.log.warn(
          { err: error, subscription, eventId: delivery.id, attempt: delivery.attempt, subject: delivery.subject },
          'event handling failed',
        );
        throw error;
      }
    });
  return deps.bus.subscribe(
    { ...options, name: subscription, subjects: handlers.map((h) => eventSubject(h.schema, options.subjectPrefix)) },
    handle,
  );
}
