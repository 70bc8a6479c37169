/**
 * Retries with exponential backoff and full jitter, bounded by a retry budget so that a slow or
 * failing dependency does not receive a storm of retries on top of its normal load.
 */
export interface RetryPolicy {
  /** Tries in all, the first one included. */
  readonly maxAttempts: number;
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

/**
 * The delay before try number `attempt + 1`: uniformly random in [0, min(max, base·2^(attempt-1))]
 * ("full jitter"), so callers that failed together do not retry together.
 */
export function backoffDelayMs(
  policy: Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>,
  attempt: number,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(
    policy.maxDelayMs,
    policy.baseDelayMs * 2 ** Math.min(Math.max(0, attempt - 1), 30),
  );
  return Math.floor(random() * ceiling);
}

export interface RetryBudgetOptions {
  /** The budget holds at most this many tokens; a failure takes one. */
  readonly maxTokens: number;
  /** A success gives back this many (e.g. 0.1: about one retry per ten successful calls). */
  readonly tokenRatio: number;
}

/**
 * gRPC's retry throttling: retries are allowed while more than half the tokens are left. Under a
 * healthy dependency the budget stays full; when most calls fail it empties and calls fail fast
 * after their first try, until successes refill it.
 */
export class RetryBudget {
  private tokens: number;

  constructor(private readonly options: RetryBudgetOptions) {
    this.tokens = options.maxTokens;
  }

  onSuccess(): void {
    this.tokens = Math.min(this.options.maxTokens, this.tokens + this.options.tokenRatio);
  }

  onFailure(): void {
    this.tokens = Math.max(0, this.tokens - 1);
  }

  get canRetry(): boolean {
    return this.tokens > this.options.maxTokens / 2;
  }

  get available(): number {
    return this.tokens;
  }
}

export interface RetryOptions {
  readonly policy: RetryPolicy;
  readonly budget?: RetryBudget;
  /** Whether another try may help (and is safe: the first try surely had no effect, or the call is idempotent). */
  readonly isRetryable: (error: unknown) => boolean;
  /** A wait the callee asked for (Retry-After); a longer backoff is kept. */
  readonly retryAfterMs?: (error: unknown) => number | undefined;
  /** The caller's deadline: no wait outlives it, and no try starts after it. */
  readonly signal?: AbortSignal;
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export async function retry<T>(
  work: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const sleep = options.sleep ?? abortableSleep;
  for (let attempt = 1; ; attempt++) {
    try {
      const result = await work(attempt);
      options.budget?.onSuccess();
      return result;
    } catch (error) {
      options.budget?.onFailure();
      const more =
        attempt < options.policy.maxAttempts &&
        options.isRetryable(error) &&
        (options.budget?.canRetry ?? true) &&
        !options.signal?.aborted;
      if (!more) throw error;
      const delay = Math.max(
        backoffDelayMs(options.policy, attempt, options.random),
        options.retryAfterMs?.(error) ?? 0,
      );
      await sleep(delay, options.signal);
      if (options.signal?.aborted) throw error;
    }
  }
}

function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
