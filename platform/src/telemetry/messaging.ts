import { performance } from 'node:perf_hooks';
import { SpanKind, trace, type Attributes } from '@opentelemetry/api';
import {
  busHeaders,
  isDependencyOutage,
  isPermanentFailure,
  type BusMessage,
  type Delivery,
} from '../bus/bus.js';
import { platformInstruments, secondsSince } from './instruments.js';
import { correlationAttributes, extractTraceContext, injectTraceContext } from './propagation.js';
import { errorType, runWithSpan, type Telemetry } from './telemetry.js';

/**
 * Spans and metrics of the event path. The outbox stored the trace context of the transaction that
 * wrote an event; the relay's `publish` span continues it and puts its own `traceparent` on the bus
 * message; each subscription's `process` span is a child of that publish span. Correlation baggage
 * (`order.id`, …) rides along and becomes attributes of every span on the way.
 */
export interface MessagingTelemetry {
  readonly telemetry: Telemetry;
  /** `messaging.system`: the bus adapter (`nats`, `memory`). */
  readonly system: string;
}

/** Publishes `message` inside a PRODUCER span; records publish duration and outbox lag. */
export async function tracePublish(
  messaging: MessagingTelemetry | undefined,
  message: BusMessage,
  lagBeforeSeconds: number,
  publish: (message: BusMessage) => Promise<void>,
): Promise<void> {
  if (!messaging?.telemetry.enabled) return publish(message);
  const { telemetry, system } = messaging;
  const instruments = platformInstruments(telemetry.meter);
  const parent = extractTraceContext(message.headers, { trustBaggage: true });
  const base: Attributes = {
    'messaging.system': system,
    'messaging.destination.name': message.subject,
  };
  const span = telemetry.tracer.startSpan(
    `publish ${message.subject}`,
    {
      kind: SpanKind.PRODUCER,
      attributes: {
        ...base,
        'messaging.operation.type': 'send',
        'messaging.operation.name': 'publish',
        'messaging.message.id': message.id,
        ...eventTypeAttribute(message),
        ...correlationAttributes(parent),
      },
    },
    parent,
  );
  const headers = injectTraceContext({ ...message.headers }, trace.setSpan(parent, span));
  const started = performance.now();
  let failure: unknown;
  try {
    await runWithSpan(span, parent, () => publish({ ...message, headers }));
  } catch (error) {
    failure = error;
    throw error;
  } finally {
    const elapsed = secondsSince(started);
    instruments.publishDuration.record(elapsed, {
      ...base,
      'messaging.operation.name': 'publish',
      ...(failure === undefined ? {} : { 'error.type': errorType(failure) }),
    });
    if (failure === undefined) instruments.publishLag.record(lagBeforeSeconds + elapsed, base);
  }
}

/** Makes the per-subscription counters visible at zero before anything goes wrong. */
export function registerSubscription(telemetry: Telemetry | undefined, subscription: string): void {
  if (!telemetry?.enabled) return;
  const instruments = platformInstruments(telemetry.meter);
  const attributes = { 'messaging.consumer.group.name': subscription };
  instruments.redeliveries.add(0, attributes);
  instruments.deadLetters.add(0, attributes);
}

/**
 * Runs the processing of one delivery inside a CONSUMER span parented by the message's
 * `traceparent`; counts redeliveries and the failures that send it to the dead letters.
 */
export async function traceDelivery(
  messaging: MessagingTelemetry | undefined,
  delivery: Delivery,
  maxDeliver: number,
  work: () => Promise<void>,
): Promise<void> {
  if (!messaging?.telemetry.enabled) return work();
  const { telemetry, system } = messaging;
  const instruments = platformInstruments(telemetry.meter);
  const group = { 'messaging.consumer.group.name': delivery.subscription };
  const base: Attributes = {
    'messaging.system': system,
    'messaging.destination.name': delivery.subject,
    ...group,
  };
  const parent = extractTraceContext(delivery.headers, { trustBaggage: true });
  const span = telemetry.tracer.startSpan(
    `process ${delivery.subject}`,
    {
      kind: SpanKind.CONSUMER,
      attributes: {
        ...base,
        'messaging.operation.type': 'process',
        'messaging.operation.name': 'process',
        'messaging.message.id': delivery.headers[busHeaders.eventId] ?? delivery.id,
        'messaging.message.delivery_attempt': delivery.attempt,
        ...eventTypeAttribute(delivery),
        ...correlationAttributes(parent),
      },
    },
    parent,
  );
  if (delivery.attempt > 1) instruments.redeliveries.add(1, group);
  const started = performance.now();
  let failure: unknown;
  try {
    await runWithSpan(span, parent, work);
  } catch (error) {
    failure = error;
    if (isPermanentFailure(error) || (!isDependencyOutage(error) && delivery.attempt >= maxDeliver))
      instruments.deadLetters.add(1, group);
    throw error;
  } finally {
    instruments.processDuration.record(secondsSince(started), {
      ...base,
      ...(failure === undefined ? {} : { 'error.type': errorType(failure) }),
    });
  }
}

function eventTypeAttribute(message: BusMessage): Attributes {
  const type = message.headers[busHeaders.eventType];
  return type ? { 'orderly.event.type': type } : {};
}
