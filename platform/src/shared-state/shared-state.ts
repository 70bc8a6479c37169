import { AppError } from '../errors/index.js';

/**
 * A change of one record: given its current value (undefined when there is none), the value to
 * store and what to answer the caller. It must be pure: a store that shares the record between
 * processes applies it again to a newer value when another process changed the record first.
 */
export type SharedChange<Result> = (current: string | undefined) => {
  readonly value: string;
  readonly result: Result;
};

/**
 * Small records (counters, token buckets) that every replica of a service reads and changes as one:
 * each `update` is atomic across the processes that share the store. In memory for one process
 * (embedded mode, tests); NATS JetStream key-value in distributed mode, where the replicas share
 * it. A record nobody changed for the store's entry TTL is forgotten.
 */
export interface SharedState {
  /**
   * Applies `change` to the record at `key` atomically and answers its result. Concurrent updates
   * of one key are applied in the order they were made. Rejects (SHARED_STATE_UNAVAILABLE) when
   * the store cannot be reached in time; nothing is changed then.
   */
  update<Result>(key: string, change: SharedChange<Result>): Promise<Result>;
  close(): Promise<void>;
}

export const sharedStateUnavailable = (what: string, cause?: unknown) =>
  new AppError('SHARED_STATE_UNAVAILABLE', `the shared state store ${what}`, {
    kind: 'unavailable',
    cause,
  });
