/**
 * Token buckets in memory: each key holds up to `burst` tokens, refilled continuously at
 * `perMinute`; a request takes one. The map is bounded: keys are kept in least-recently-used
 * order and the oldest is dropped when `maxKeys` is reached (a dropped key starts full again,
 * which only ever favours a client that has been quiet the longest).
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

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Tokens per millisecond of a limit given per minute. */
const refillPerMs = (limit: RateLimit): number => limit.perMinute / 60 / 1000;

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly maxKeys: number,
    private readonly now: () => number = Date.now,
  ) {}

  take(key: string, limit: RateLimit): TakeResult {
    const now = this.now();
    const perMs = refillPerMs(limit);
    const bucket = this.buckets.get(key) ?? { tokens: limit.burst, updatedAt: now };
    bucket.tokens = Math.min(limit.burst, bucket.tokens + (now - bucket.updatedAt) * perMs);
    bucket.updatedAt = now;
    const allowed = bucket.tokens >= 1;
    if (allowed) bucket.tokens -= 1;
    // Re-inserted so the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    while (this.buckets.size > this.maxKeys) {
      const oldest = this.buckets.keys().next().value;
      if (oldest === undefined) break;
      this.buckets.delete(oldest);
    }
    return {
      allowed,
      remaining: Math.floor(bucket.tokens),
      retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - bucket.tokens) / perMs / 1000)),
      resetSeconds: Math.ceil((limit.burst - bucket.tokens) / perMs / 1000),
    };
  }

  get size(): number {
    return this.buckets.size;
  }
}

/** The window of a policy: how long an empty bucket takes to fill (`w` of RateLimit-Policy). */
export function windowSeconds(limit: RateLimit): number {
  return Math.max(1, Math.ceil(limit.burst / refillPerMs(limit) / 1000));
}
