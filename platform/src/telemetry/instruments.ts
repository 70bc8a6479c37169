import { performance } from 'node:perf_hooks';
import type { Counter, Histogram, Meter } from '@opentelemetry/api';

/** The instrumentation scope of every span and instrument the platform makes. */
export const instrumentationScope = '@orderly/platform';

/** Bucket boundaries (seconds) for durations from a fast request to a slow saga. */
export const durationBucketBoundaries = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 30, 60,
];

/** Seconds elapsed since `startedAt`, a `performance.now()` reading. */
export function secondsSince(startedAt: number): number {
  return (performance.now() - startedAt) / 1e3;
}

/** Seconds from one instant to another (durations are recorded in seconds). */
export function secondsBetween(from: Date, to: Date): number {
  return (to.getTime() - from.getTime()) / 1e3;
}

/**
 * Instruments of the platform's own layers (HTTP, RPC, outbox, consumers), created once per meter.
 * Names and units follow the OpenTelemetry semantic conventions where one exists; the rest are
 * `orderly.*`.
 */
export interface PlatformInstruments {
  /** http.server.request.duration (s) by method, route and status. */
  readonly httpServerDuration: Histogram;
  /** rpc.server.duration (ms) by service, method and Connect error code. */
  readonly rpcServerDuration: Histogram;
  /** rpc.client.duration (ms), as seen by the caller. */
  readonly rpcClientDuration: Histogram;
  /** messaging.process.duration (s) by subscription and subject. */
  readonly processDuration: Histogram;
  /** messaging.client.operation.duration (s) of outbox publishes. */
  readonly publishDuration: Histogram;
  readonly redeliveries: Counter;
  readonly deadLetters: Counter;
  /** Time from the outbox insert to the bus accepting the event. */
  readonly publishLag: Histogram;
  /** Latest pending-row count of this service's outbox (read by an observable gauge). */
  readonly outboxBacklog: { value: number | undefined };
}

const cache = new WeakMap<Meter, PlatformInstruments>();

export function platformInstruments(meter: Meter): PlatformInstruments {
  const cached = cache.get(meter);
  if (cached) return cached;
  const seconds = { unit: 's', advice: { explicitBucketBoundaries: durationBucketBoundaries } };
  const millis = {
    unit: 'ms',
    advice: { explicitBucketBoundaries: durationBucketBoundaries.map((b) => b * 1e3) },
  };
  const outboxBacklog: { value: number | undefined } = { value: undefined };
  meter
    .createObservableGauge('orderly.outbox.backlog', {
      unit: '{event}',
      description: 'Outbox rows not yet published.',
    })
    .addCallback((result) => {
      if (outboxBacklog.value !== undefined) result.observe(outboxBacklog.value);
    });
  const instruments: PlatformInstruments = {
    httpServerDuration: meter.createHistogram('http.server.request.duration', {
      ...seconds,
      description: 'Duration of HTTP server requests.',
    }),
    rpcServerDuration: meter.createHistogram('rpc.server.duration', {
      ...millis,
      description: 'Duration of inbound RPCs.',
    }),
    rpcClientDuration: meter.createHistogram('rpc.client.duration', {
      ...millis,
      description: 'Duration of outbound RPCs.',
    }),
    processDuration: meter.createHistogram('messaging.process.duration', {
      ...seconds,
      description: 'Duration of processing one delivered event (inbox transaction included).',
    }),
    publishDuration: meter.createHistogram('messaging.client.operation.duration', {
      ...seconds,
      description: 'Duration of publishing one outbox event to the bus.',
    }),
    redeliveries: meter.createCounter('orderly.consumer.redeliveries', {
      unit: '{delivery}',
      description: 'Deliveries that were a retry of an earlier failed attempt, per subscription.',
    }),
    deadLetters: meter.createCounter('orderly.consumer.dead_letters', {
      unit: '{message}',
      description: 'Messages sent to the dead letters, per subscription.',
    }),
    publishLag: meter.createHistogram('orderly.outbox.publish.lag', {
      ...seconds,
      description: 'Time from writing an event to the outbox to the bus accepting it.',
    }),
    outboxBacklog,
  };
  cache.set(meter, instruments);
  return instruments;
}
