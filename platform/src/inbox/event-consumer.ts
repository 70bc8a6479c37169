import type { DescMessage, MessageShape } from '@bufbuild/protobuf';
import { context as otelContext, type Context } from '@opentelemetry/api';
import {
  busHeaders,
  type Bus,
  type Delivery,
  type Subscription,
  type SubscriptionOptions,
} from '../bus/bus.js';
import {
  GroupCommit,
  sqlLiteral,
  type Database,
  type GroupCommitOptions,
  type QueryResultRows,
  type Sql,
} from '../db/index.js';
import { AppError } from '../errors/index.js';
import { decodeEvent, eventSubject } from '../events/index.js';
import type { Logger } from '../log/index.js';
import {
  registerSubscription,
  traceDelivery,
  type MessagingTelemetry,
} from '../telemetry/index.js';

/**
 * Applies events exactly once per subscription: the inbox row `(subscription, event_id)` and the
 * handler's effects commit in one transaction, and the delivery is acknowledged only after that
 * commit. A redelivered event finds its inbox row and is skipped. Each delivery is processed in a
 * span that continues the publisher's trace (platform/src/telemetry/messaging.ts).
 *
 * Deliveries that arrive together are applied together (`batch`): one transaction, one statement
 * for their inbox rows, one commit, then each is acknowledged. When one of them fails, the batch's
 * transaction is rolled back and every delivery of it is applied again on its own, so a poison
 * message fails alone and the others commit. Handlers therefore must not assume they run alone in
 * their transaction (they never could rely on more than their own rows anyway).
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
  /**
   * Applies several new events of this type at once (set-based SQL: one statement per table for
   * the whole run instead of one per event). Called with consecutive events of one batch, in
   * delivery order; `handle` is then the same code with a run of one.
   */
  handleBatch?(tx: Sql, items: readonly BatchItem<unknown>[]): Promise<void>;
}

/** One event of a run given to a batch handler. */
export interface BatchItem<Event> {
  readonly event: Event;
  readonly context: EventContext;
  /**
   * Runs `work` in this event's trace context: what it writes to the outbox (`Outbox.prepare`)
   * continues this event's trace, and its log lines carry it.
   */
  inTrace<T>(work: () => T): T;
}

/** Binds a handler to the event type it accepts, keeping the event typed inside. */
export function on<Desc extends DescMessage>(
  schema: Desc,
  handle: (tx: Sql, event: MessageShape<Desc>, context: EventContext) => Promise<void>,
): EventHandler {
  return {
    schema,
    handle: (tx, event, context) => handle(tx, event as MessageShape<Desc>, context),
  };
}

export type ConsumerOptions = Omit<SubscriptionOptions, 'name' | 'subjects'> & {
  readonly subjectPrefix: string;
  /** Deliveries applied in one transaction; `maxBatch: 1` applies each on its own. Read at each batch. */
  readonly batch?: () => GroupCommitOptions;
};

/**
 * Binds a set-based handler to the event type it accepts. The same function serves a run of many
 * events (batched subscriptions) and a single event, so the logic is written once.
 */
export function onBatch<Desc extends DescMessage>(
  schema: Desc,
  handleBatch: (tx: Sql, items: readonly BatchItem<MessageShape<Desc>>[]) => Promise<void>,
): EventHandler {
  return {
    schema,
    handle: (tx, event, context) =>
      handleBatch(tx, [{ event: event as MessageShape<Desc>, context, inTrace: (work) => work() }]),
    handleBatch: (tx, items) => handleBatch(tx, items as readonly BatchItem<MessageShape<Desc>>[]),
  };
}

/**
 * One set-based handler for several event types of a subscription (tell them apart by
 * `item.event.$typeName`): consecutive events of any of these types are one run, so the handler can
 * take all its locks in one sorted statement — two runs in one transaction, each sorted on its own,
 * could still deadlock with another batch.
 */
export function onBatchOf<const Schemas extends readonly DescMessage[]>(
  schemas: Schemas,
  handleBatch: (
    tx: Sql,
    items: readonly BatchItem<MessageShape<Schemas[number]>>[],
  ) => Promise<void>,
): EventHandler[] {
  const shared = (tx: Sql, items: readonly BatchItem<unknown>[]) =>
    handleBatch(tx, items as readonly BatchItem<MessageShape<Schemas[number]>>[]);
  return schemas.map((schema) => ({
    schema,
    handle: (tx, event, context) => shared(tx, [{ event, context, inTrace: (work) => work() }]),
    handleBatch: shared,
  }));
}

/** One decoded delivery waiting for its batch; `trace` is the delivery span's context. */
interface PendingEvent {
  readonly handler: EventHandler;
  readonly type: string;
  readonly event: unknown;
  readonly context: EventContext;
  readonly trace: Context;
}

/** Applied, or skipped as a duplicate (its inbox row already existed). */
type Applied = boolean;

export async function startEventConsumer(
  deps: { bus: Bus; db: Database; log: Logger; telemetry?: MessagingTelemetry },
  subscription: string,
  handlers: readonly EventHandler[],
  options: ConsumerOptions,
): Promise<Subscription> {
  const byType = new Map(handlers.map((h) => [h.schema.typeName, h]));

  /**
   * Runs each new event's handler in its own trace context, so what it publishes continues its
   * trace. Consecutive events whose handlers share a `handleBatch` go to it as one run.
   */
  const applyAll = async (
    tx: Sql,
    events: readonly PendingEvent[],
    insertedInbox: QueryResultRows<Record<string, unknown>>,
  ): Promise<Applied[]> => {
    const fresh = new Set(insertedInbox.rows.map((row) => String(row.event_id)));
    const applied = events.map((pending) => fresh.delete(pending.context.eventId));
    const run: PendingEvent[] = [];
    const flush = async () => {
      const handler = run[0]?.handler;
      if (!handler?.handleBatch) return;
      await handler.handleBatch(tx, run.map(batchItem));
      run.length = 0;
    };
    for (const [index, pending] of events.entries()) {
      if (!applied[index]) continue;
      // A run is one handleBatch function: one handler, or several sharing it (onBatchOf).
      if (run.length > 0 && run[0]!.handler.handleBatch !== pending.handler.handleBatch)
        await flush();
      if (pending.handler.handleBatch) {
        run.push(pending);
        continue;
      }
      await otelContext.with(pending.trace, () =>
        pending.handler.handle(tx, pending.event, pending.context),
      );
    }
    await flush();
    return applied;
  };
  // The inbox rows go with BEGIN, in one round trip: one fewer per delivery (of about eight).
  const inTransaction = (events: readonly PendingEvent[]): Promise<Applied[]> =>
    deps.db.transaction(
      (tx, inserted) => {
        // Read as "no event is new", a missing result would ack every event without applying it.
        if (!inserted) throw new Error('the inbox insert sent with BEGIN returned no result');
        return applyAll(tx, events, inserted);
      },
      {
        opening: insertInboxRowsStatement(subscription, events),
      },
    );
  const applyAlone = async (pending: PendingEvent): Promise<Applied> =>
    (await inTransaction([pending]))[0] ?? false;
  // Unbatched, each delivery is its own transaction, as concurrent as the subscription allows.
  const batches =
    options.batch &&
    new GroupCommit<PendingEvent, Applied>(options.batch, async (events) => {
      if (events.length === 1) return [await applyAlone(events[0]!)];
      try {
        return await inTransaction(events);
      } catch {
        // One delivery failed and took the batch's transaction with it: nothing of the batch was
        // committed. Apply each on its own, so only the failing one fails (and is retried or
        // dead-lettered) — one after the other in delivery order, as the batch would have: two
        // events about one order (a declined and a good payment request) must not swap places.
        const outcomes: (Applied | Error)[] = [];
        for (const pending of events)
          outcomes.push(await applyAlone(pending).catch((error: unknown) => toError(error)));
        return outcomes;
      }
    });

  const apply = async (delivery: Delivery): Promise<void> => {
    const type = delivery.headers[busHeaders.eventType];
    const handler = type === undefined ? undefined : byType.get(type);
    if (!handler || type === undefined) {
      throw new AppError(
        'EVENT_TYPE_UNKNOWN',
        `subscription ${subscription} has no handler for ${type ?? '(no type)'}`,
        {
          permanent: true,
        },
      );
    }
    const event = decodeEvent(handler.schema, delivery.data);
    const eventId = delivery.headers[busHeaders.eventId] ?? delivery.id;
    const context: EventContext = {
      eventId,
      subscription,
      attempt: delivery.attempt,
      headers: delivery.headers,
    };
    const pending: PendingEvent = {
      handler,
      type,
      event,
      context,
      trace: otelContext.active(),
    };
    const applied = await (batches ? batches.submit(pending) : applyAlone(pending));
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
          {
            err: error,
            subscription,
            eventId: delivery.id,
            attempt: delivery.attempt,
            subject: delivery.subject,
          },
          'event handling failed',
        );
        throw error;
      }
    });
  return deps.bus.subscribe(
    {
      ...options,
      name: subscription,
      subjects: handlers.map((h) => eventSubject(h.schema, options.subjectPrefix)),
    },
    handle,
  );
}

/**
 * One statement for the batch's inbox rows, whose RETURNING names the event ids that were new. A
 * duplicate within the batch (the same event delivered twice) is new only once. Literal values
 * (escaped), because it travels with BEGIN as one simple query.
 */
function insertInboxRowsStatement(subscription: string, events: readonly PendingEvent[]): string {
  // In event id order: two batches holding the same redelivered events must take their inbox
  // rows' locks in one order, or they could deadlock on them.
  const rows = [...events]
    .sort((a, b) => (a.context.eventId < b.context.eventId ? -1 : 1))
    .map(
      (e) =>
        `(${sqlLiteral(subscription)}, ${sqlLiteral(e.context.eventId)}, ${sqlLiteral(e.type)})`,
    );
  return `INSERT INTO inbox (subscription, event_id, event_type) VALUES ${rows.join(', ')}
     ON CONFLICT DO NOTHING RETURNING event_id`;
}

function batchItem(pending: PendingEvent): BatchItem<unknown> {
  return {
    event: pending.event,
    context: pending.context,
    inTrace: (work) => otelContext.with(pending.trace, work),
  };
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
