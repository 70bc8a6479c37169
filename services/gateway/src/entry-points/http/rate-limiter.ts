import { findAppError, memorySharedState, type Logger, type SharedState } from '@orderly/platform';

/**
 * Token buckets: each key holds up to `burst` tokens, refilled continuously at `perMinute`; a
 * request takes one. The buckets live in a SharedState: in distributed mode a NATS JetStream
 * key-value bucket every gateway replica shares, so three replicas give a client the limit once,
 * not three times; in embedded mode this process's memory. When the shared store cannot answer in
 * time (NATS down, a reconnect), the bucket is taken from this replica's own memory instead: the
 * limit then holds per replica until the store is back, and requests are never held up for it.
 */
export interface RateLimit {
  readonly burst: number;
  readonly perMinute: number;
}

export interface TakeResult {
  readonly allowed: boolean;
  /** Whole tokens left after this request. */
  readonly remaining: number;
  /** Seconds until a token is available again (0 when one is). */
  readonly retryAfterSeconds: number;
  /** Seconds until the bucket is full again. */
  readonly resetSeconds: number;
}

/** A bucket as it is stored: tokens left at `updatedAt` (epoch ms). */
interface Bucket {
  readonly tokens: number;
  readonly updatedAt: number;
}

/** Tokens per millisecond of a limit given per minute. */
const refillPerMs = (limit: RateLimit): number => limit.perMinute / 60 / 1000;

/**
 * Takes one token from `bucket` (a full one when there is none) at `now`: the bucket after it and
 * the answer. Pure, so a shared store can apply it again when another replica changed the bucket
 * first. A clock behind the bucket's (another replica's) refills nothing rather than going back.
 */
export function takeToken(
  bucket: Bucket | undefined,
  limit: RateLimit,
  now: number,
): { readonly bucket: Bucket; readonly result: TakeResult } {
  const perMs = refillPerMs(limit);
  const previous = bucket ?? { tokens: limit.burst, updatedAt: now };
  const elapsed = Math.max(0, now - previous.updatedAt);
  const available = Math.min(limit.burst, previous.tokens + elapsed * perMs);
  const allowed = available >= 1;
  const tokens = allowed ? available - 1 : available;
  return {
    bucket: { tokens, updatedAt: Math.max(now, previous.updatedAt) },
    result: {
      allowed,
      remaining: Math.floor(tokens),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / perMs / 1000)),
      resetSeconds: Math.ceil((limit.burst - tokens) / perMs / 1000),
    },
  };
}

function parseBucket(value: string | undefined): Bucket | undefined {
  if (value === undefined) return undefined;
  try {
    const parsed = JSON.parse(value) as Partial<Bucket>;
    return typeof parsed.tokens === 'number' && typeof parsed.updatedAt === 'number'
      ? { tokens: parsed.tokens, updatedAt: parsed.updatedAt }
      : undefined;
  } catch {
    // Unreadable (written by something else): start the bucket full, as for an unknown key.
    return undefined;
  }
}

export interface TokenBucketsOptions {
  /** Where the buckets live (shared by the replicas in distributed mode). */
  readonly shared: SharedState;
  /** This replica's own buckets, used while `shared` cannot answer. */
  readonly local: SharedState;
  readonly log?: Logger;
  /** Told about every take answered from the local buckets (a metric). */
  readonly onLocalFallback?: () => void;
  readonly now?: () => number;
}

export class TokenBuckets {
  private readonly now: () => number;
  private usingLocal = false;

  constructor(private readonly options: TokenBucketsOptions) {
    this.now = options.now ?? Date.now;
  }

  async take(key: string, limit: RateLimit): Promise<TakeResult> {
    const change = (current: string | undefined) => {
      const { bucket, result } = takeToken(parseBucket(current), limit, this.now());
      return { value: JSON.stringify(bucket), result };
    };
    try {
      const result = await this.options.shared.update(key, change);
      if (this.usingLocal) {
        this.usingLocal = false;
        this.options.log?.info('rate limits shared by the replicas again');
      }
      return result;
    } catch (error) {
      if (findAppError(error)?.code !== 'SHARED_STATE_UNAVAILABLE') throw error;
      // Logged when it starts, not per request: an outage must not become a log storm.
      if (!this.usingLocal) {
        this.usingLocal = true;
        this.options.log?.warn(
          { err: error },
          'rate limits shared store unavailable, this replica limits on its own meanwhile',
        );
      }
      this.options.onLocalFallback?.();
      return this.options.local.update(key, change);
    }
  }
}

/** Where the buckets are kept in memory: how many at most, and how long an idle one is kept. */
export interface LocalBucketLimits {
  readonly maxTrackedKeys: number;
  readonly shared: { readonly entryTtlMs: number };
}

/**
 * Buckets in this process's memory: at most `maxTrackedKeys`, the least recently used dropped
 * first (a dropped key starts full again, which only ever favours a client that has been quiet the
 * longest).
 */
export function localBuckets(limits: LocalBucketLimits): SharedState {
  return memorySharedState({
    maxEntries: limits.maxTrackedKeys,
    entryTtlMs: limits.shared.entryTtlMs,
  });
}

/** Buckets kept by this process only (tests, and an app built without the service's buckets). */
export function processTokenBuckets(limits: LocalBucketLimits): TokenBuckets {
  const local = localBuckets(limits);
  return new TokenBuckets({ shared: local, local });
}

/** The window of a policy: how long an empty bucket takes to fill (`w` of RateLimit-Policy). */
export function windowSeconds(limit: RateLimit): number {
  return Math.max(1, Math.ceil(limit.burst / refillPerMs(limit) / 1000));
}
