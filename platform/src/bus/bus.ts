import { backoffDelayMs } from '../resilience/retry.js';
import { isDependencyFailure } from '../resilience/dependency-failure.js';

/**
 * The bus moves opaque messages between services with at-least-once delivery.
 * Two adapters implement it (NATS JetStream and in-memory) and pass one contract suite
 * (platform/test/bus-contract.ts), so code above it cannot tell them apart.
 */

/** A message as published. `id` is the event id: the broker deduplicates on it. */
export interface BusMessage {
  readonly subject: string;
  readonly id: string;
  readonly data: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
}

/**
 * A message as delivered to one subscription. `attempt` starts at 1 and counts the attempts that
 * count against `maxDeliver`: a delivery that failed because a dependency was unreachable
 * (`isDependencyOutage`) is tried again with the same `attempt`.
 */
export interface Delivery extends BusMessage {
  readonly attempt: number;
  readonly subscription: string;
}

/**
 * Settles a delivery. Resolving acknowledges it; throwing asks for redelivery after a backoff.
 * After `maxDeliver` failed attempts, or at once when the error is permanent
 * (see `isPermanentFailure`), the message goes to the dead letters with its error. A failure
 * because a dependency is unreachable (see `isDependencyOutage`) never does: the subscription
 * backs off and tries again, however long the outage lasts.
 */
export type DeliveryHandler = (delivery: Delivery) => Promise<void>;

export interface SubscriptionOptions {
  /** Durable name, `<consumer>.<purpose>`, e.g. `inventory.reserve-stock`. */
  readonly name: string;
  /** Exact subjects this subscription receives. */
  readonly subjects: readonly string[];
  readonly maxDeliver: number;
  /** How long a delivery may take before the broker redelivers it elsewhere. */
  readonly ackWaitMs: number;
  /** Redelivery delay by attempt; the last value repeats. */
  readonly retryBackoffMs: readonly number[];
  /** Deliveries processed at once by this subscription in this process. */
  readonly concurrency: number;
}

export interface Subscription {
  /** Stops taking new deliveries and waits for the ones in flight to settle. */
  stop(): Promise<void>;
}

export interface DeadLetter {
  /** Identifies the dead letter for redrive (a stream sequence or a counter). */
  readonly id: string;
  readonly subscription: string;
  readonly subject: string;
  readonly eventId: string;
  readonly error: string;
  readonly attempts: number;
  readonly failedAt: Date;
  readonly headers: Readonly<Record<string, string>>;
  readonly data: Uint8Array;
}

/** One subscription's backlog as its bus sees it. */
export interface ConsumerLag {
  readonly subscription: string;
  /** Messages for it not yet handed to its handler (queued, or waiting for a redelivery). */
  readonly pending: number;
  /** Handed to its handler and not yet acknowledged. */
  readonly inFlight: number;
}

/** What a bus says about itself, for the operator's debug endpoint (`/admin/debug/resources`). */
export interface BusDiagnostics {
  readonly kind: 'nats' | 'memory';
  /**
   * NATS: `connected`, `reconnecting` (lost, trying again), `draining` or `closed`. In-memory:
   * `in-process` or `closed`.
   */
  readonly connection: 'connected' | 'reconnecting' | 'draining' | 'closed' | 'in-process';
  /** The server connected to (NATS). */
  readonly server?: string;
  /** The subscriptions asked for that are active through this bus, in the order asked. */
  readonly consumers: readonly ConsumerLag[];
  /** Dead letters of the subscriptions asked for. */
  readonly deadLetters: number;
}

export interface Bus {
  /**
   * Resolves once every message is durably accepted: by the JetStream stream (NATS), or
   * settled by every current subscriber (in-memory, which keeps nothing on its own).
   * Rejects if any message was not accepted; the caller retries the whole batch safely,
   * because messages are deduplicated by id.
   */
  publish(messages: readonly BusMessage[]): Promise<void>;
  subscribe(options: SubscriptionOptions, handler: DeliveryHandler): Promise<Subscription>;
  listDeadLetters(): Promise<DeadLetter[]>;
  /**
   * Publishes dead letters again to their original subject (all of them when `ids` is omitted)
   * and removes them from the dead letters. Returns how many were redriven.
   * Subscriptions that already applied the event ignore it through their inbox.
   */
  redriveDeadLetters(ids?: readonly string[]): Promise<number>;
  /**
   * Connection state, backlog per subscription and dead letters of `subscriptions` (those a service
   * consumes): the embedded mode shares one bus between services, so each asks for its own.
   */
  diagnostics(subscriptions: readonly string[]): Promise<BusDiagnostics>;
  /** Throws when the bus cannot be reached; used by readiness checks. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Header names every adapter uses. */
export const busHeaders = {
  eventId: 'Orderly-Event-Id',
  eventType: 'Orderly-Event-Type',
  deadLetterError: 'Orderly-Dead-Letter-Error',
  deadLetterSubscription: 'Orderly-Dead-Letter-Subscription',
  deadLetterSubject: 'Orderly-Dead-Letter-Subject',
  deadLetterAttempts: 'Orderly-Dead-Letter-Attempts',
  deadLetterAt: 'Orderly-Dead-Letter-At',
} as const;

/** An error that retrying cannot fix (e.g. an undecodable payload): dead-letter it at once. */
export function isPermanentFailure(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { permanent?: unknown }).permanent === true
  );
}

/**
 * The delivery failed because a dependency (database, broker, a provider behind a port) could not be
 * reached, not because of the message: it does not count against `maxDeliver` and is never
 * dead-lettered; the subscription backs off (`dependencyBackoffMs`) and tries again.
 */
export function isDependencyOutage(error: unknown): boolean {
  return !isPermanentFailure(error) && isDependencyFailure(error);
}

/**
 * The pause after the `failures`-th dependency failure in a row: exponential with full jitter
 * between the first and the last redelivery delay, and never shorter than the first.
 */
export function dependencyBackoffMs(retryBackoffMs: readonly number[], failures: number): number {
  const first = retryBackoffMs[0] ?? 0;
  const last = retryBackoffMs[retryBackoffMs.length - 1] ?? first;
  return Math.max(first, backoffDelayMs({ baseDelayMs: first, maxDelayMs: last }, failures));
}

/** The delay before redelivery number `attempt + 1`. */
export function backoffFor(retryBackoffMs: readonly number[], attempt: number): number {
  if (retryBackoffMs.length === 0) return 0;
  return retryBackoffMs[Math.min(attempt - 1, retryBackoffMs.length - 1)] ?? 0;
}
