import { jetstream, JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream';
import { Kvm, type KV } from '@nats-io/kv';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { findAppError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { sharedStateUnavailable, type SharedChange, type SharedState } from './shared-state.js';

export interface NatsSharedStateOptions {
  readonly servers: readonly string[];
  readonly connectTimeoutMs: number;
  /** The client's name on the server (`orderly-<service>`). */
  readonly name: string;
  /** The JetStream key-value bucket (its stream is KV_<bucket>), created when missing. */
  readonly bucket: string;
  /** A record nobody changed for this long is removed by the server (the bucket's max age). */
  readonly entryTtlMs: number;
  /** Most bytes the bucket holds; when full, updates of new keys are refused (unavailable). */
  readonly maxBytes: number;
  /** Copies JetStream keeps (bus.streamReplicas). */
  readonly replicas: number;
  /** How long one read or write may take before the update is given up (unavailable). */
  readonly operationTimeoutMs: number;
  /** Compare-and-set attempts of one round of updates of a key before it is given up. */
  readonly maxAttempts: number;
  /**
   * Pause (jittered: half to all of it) before a round of a key that follows another round of that
   * key without a break, and up to 2^attempt of it before a retry: replicas that all keep one hot
   * key busy then take turns instead of the fastest one always winning (see the class comment).
   */
  readonly roundIntervalMs: number;
  /** After a failed connection, the next update tries again only this much later. */
  readonly reconnectIntervalMs: number;
  readonly log: Logger;
}

interface Pending {
  readonly change: SharedChange<unknown>;
  readonly resolve: (result: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * SharedState on a NATS JetStream key-value bucket (memory storage, one value per key): every
 * replica of a service that opens the same bucket shares its records. An update reads the record
 * and writes it back only if nobody wrote it since (the bucket's per-key revision); when someone
 * did, it reads again and re-applies the change, up to `maxAttempts` times.
 *
 * Updates of one key made while a round trip for that key is in flight are applied together in the
 * next round, in order, with one read and one write: under load a hot key (one client address)
 * costs two round trips per round, not per request, and the replicas contend on it less.
 *
 * Fairness: a replica that keeps a key busy without a break would win every race for it (its next
 * read follows its own write at once, so another replica's read-then-write never fits between), and
 * the other replica would run out of attempts. So after a round of a key the replica waits
 * (`roundIntervalMs`, jittered) before the next round of that key, and before a retry after a
 * conflict (longer with each attempt): each replica then touches a hot key at most about once per
 * interval, carrying everything queued meanwhile, and leaves gaps the others' rounds fit in. A key
 * that was idle for an interval starts its round at once.
 *
 * A service never waits for NATS to serve requests: the first connection is tried once at start
 * (within `connectTimeoutMs`), and whenever the store is not connected — NATS down at start, or the
 * connection lost and being re-established — updates reject at once with SHARED_STATE_UNAVAILABLE
 * and the caller decides what to do without it. A failed first connection is tried again at an
 * update at most every `reconnectIntervalMs`.
 */
export async function natsSharedState(options: NatsSharedStateOptions): Promise<SharedState> {
  const state = new NatsSharedState(options);
  await state.connect().catch(() => undefined);
  return state;
}

class NatsSharedState implements SharedState {
  private nc: NatsConnection | undefined;
  private kv: KV | undefined;
  /** False while the client has lost its server and is reconnecting. */
  private reachable = false;
  private opening: Promise<KV> | undefined;
  private lastFailureAt = Number.NEGATIVE_INFINITY;
  private closed = false;
  private readonly waiting = new Map<string, Pending[]>();
  private readonly running = new Set<string>();

  constructor(private readonly options: NatsSharedStateOptions) {}

  update<Result>(key: string, change: SharedChange<Result>): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const queue = this.waiting.get(key) ?? [];
      queue.push({
        change,
        resolve: resolve as (result: unknown) => void,
        reject,
      });
      this.waiting.set(key, queue);
      if (!this.running.has(key)) void this.drain(key);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.opening?.catch(() => undefined);
    this.reachable = false;
    await this.nc?.close();
  }

  /**
   * Runs rounds for `key` until nobody waits for it. After each round it pauses before looking
   * again (updates made meanwhile join the next round): a key this replica keeps busy leaves gaps
   * for the other replicas (see the class comment).
   */
  private async drain(key: string): Promise<void> {
    this.running.add(key);
    try {
      for (;;) {
        const round = this.waiting.get(key);
        if (!round || round.length === 0) break;
        this.waiting.delete(key);
        try {
          const results = await this.apply(key, round);
          round.forEach((pending, index) => pending.resolve(results[index]));
        } catch (error) {
          for (const pending of round) pending.reject(error);
        }
        await this.pause();
      }
    } finally {
      this.running.delete(key);
    }
  }

  private async apply(key: string, round: readonly Pending[]): Promise<unknown[]> {
    const kv = await this.bucket();
    // Keys of the bucket are subject tokens: any string becomes one that is valid and unique.
    const encoded = Buffer.from(key, 'utf8').toString('base64url') || '_';
    const { operationTimeoutMs, maxAttempts } = this.options;
    for (let attempt = 1; ; attempt++) {
      try {
        const entry = await withTimeout(kv.get(encoded), operationTimeoutMs, 'read');
        let current = entry?.operation === 'PUT' ? entry.string() : undefined;
        const results = round.map((pending) => {
          const { value, result } = pending.change(current);
          current = value;
          return result;
        });
        const value = current ?? '';
        await withTimeout(
          entry
            ? kv.update(encoded, value, entry.revision, operationTimeoutMs)
            : kv.create(encoded, value),
          operationTimeoutMs,
          'write',
        );
        return results;
      } catch (error) {
        if (isConflict(error) && attempt < maxAttempts) {
          await this.pause(2 ** attempt);
          continue;
        }
        if (isConflict(error))
          throw sharedStateUnavailable(`kept changing in ${maxAttempts} attempts`, error);
        throw findAppError(error)?.code === 'SHARED_STATE_UNAVAILABLE'
          ? error
          : sharedStateUnavailable('failed', error);
      }
    }
  }

  /**
   * Waits a random time up to `intervals` round intervals (at least half of one, at most one
   * operation timeout).
   */
  private pause(intervals = 1): Promise<void> {
    const { roundIntervalMs, operationTimeoutMs } = this.options;
    const ms = Math.min(
      operationTimeoutMs,
      roundIntervalMs * Math.max(0.5, intervals * Math.random()),
    );
    return new Promise((resolve) => setTimeout(resolve, ms));
  }

  /** The bucket while connected; otherwise an unavailable error at once (see the class comment). */
  private bucket(): Promise<KV> {
    if (this.kv && this.reachable) return Promise.resolve(this.kv);
    if (this.closed) return Promise.reject(sharedStateUnavailable('is closed'));
    if (this.kv)
      return Promise.reject(sharedStateUnavailable('lost its connection (reconnecting)'));
    if (!this.opening && Date.now() - this.lastFailureAt >= this.options.reconnectIntervalMs)
      void this.connect().catch(() => undefined);
    return Promise.reject(sharedStateUnavailable('is not connected'));
  }

  /** Connects and opens (or creates) the bucket; logs and remembers a failure. */
  connect(): Promise<KV> {
    this.opening ??= this.open().then(
      (kv) => {
        this.opening = undefined;
        this.kv = kv;
        this.reachable = true;
        this.options.log.info({ bucket: this.options.bucket }, 'shared state store connected');
        return kv;
      },
      (error: unknown) => {
        this.opening = undefined;
        this.lastFailureAt = Date.now();
        this.options.log.warn(
          { err: error, bucket: this.options.bucket },
          'shared state store not reachable, callers go without it',
        );
        throw sharedStateUnavailable('is not reachable', error);
      },
    );
    return this.opening;
  }

  private async open(): Promise<KV> {
    const { options } = this;
    if (this.closed) throw sharedStateUnavailable('is closed');
    const nc = await connect({
      servers: [...options.servers],
      timeout: options.connectTimeoutMs,
      name: options.name,
      // Once connected, a broker restart is ridden out: updates fail meanwhile, then work again.
      maxReconnectAttempts: -1,
    });
    try {
      const kvm = new Kvm(jetstream(nc, { timeout: options.operationTimeoutMs }));
      const kv = await kvm.create(options.bucket, {
        storage: 'memory',
        history: 1,
        ttl: options.entryTtlMs,
        max_bytes: options.maxBytes,
        replicas: options.replicas,
        description: 'Orderly: records shared by the replicas of a service (e.g. rate limits).',
      });
      if (this.closed) throw sharedStateUnavailable('is closed');
      this.nc = nc;
      void this.followStatus(nc);
      return kv;
    } catch (error) {
      await nc.close();
      throw error;
    }
  }

  /** Tracks whether the client is connected, so updates do not wait for a server that is gone. */
  private async followStatus(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') this.reachable = false;
      else if (status.type === 'reconnect') this.reachable = true;
    }
  }
}

/** Somebody wrote the record between our read and our write (or created it first). */
function isConflict(error: unknown): boolean {
  return (
    error instanceof JetStreamApiError &&
    (error.code === JetStreamApiCodes.StreamWrongLastSequence ||
      error.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)
  );
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(sharedStateUnavailable(`did not answer a ${what} within ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
