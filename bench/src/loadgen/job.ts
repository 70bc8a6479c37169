import type { SerializedHistogram } from '../histogram.js';

/** What a load-generator process is asked to do. */
export interface LoadJob {
  readonly url: string;
  /**
   * Further origins (`http://host:port`) serving the same path: replicas of the target. Connection k
   * goes to the k-th of [url, ...replicaOrigins] in turn, so the load spreads evenly over them.
   */
  readonly replicaOrigins?: readonly string[];
  readonly kind: 'post-order' | 'get';
  /** The status that counts as accepted (202 for orders, 200 for the hello-world ceiling). */
  readonly okStatus: number;
  /** closed: `connections` loops, each sends when its previous answer arrived. open: fixed rate. */
  readonly mode: 'closed' | 'open';
  readonly connections: number;
  /** Offered requests per second (open mode). */
  readonly rate?: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** A request still unanswered this long is counted as a timeout and its connection replaced. */
  readonly requestTimeoutMs: number;
  /** After the window, how long to wait for requests sent inside it. */
  readonly drainMs: number;
  /** Extra header lines per request, one set per simulated customer ("Name: value\r\n..."). */
  readonly authHeaders: readonly string[];
  readonly skus: readonly string[];
  /** Makes idempotency keys unique across runs and phases. */
  readonly keyPrefix: string;
}

export interface LoadResult {
  readonly job: Omit<LoadJob, 'authHeaders' | 'skus'> & {
    authHeaders?: undefined;
    skus?: undefined;
  };
  /** Requests whose intended start (open) or send (closed) fell inside the measured window. */
  readonly sent: number;
  readonly statuses: Record<string, number>;
  /** Requests in the window that got no HTTP answer, by reason (see worker.ts for the no-answer ones). */
  readonly errors: Record<string, number>;
  /**
   * Latency in µs of every request in the window (open mode: from the intended start), failures
   * included: a non-accepted answer at its elapsed time, a broken connection at the time it broke,
   * a request with no answer (timed out, unanswered at the end, never sent) at its elapsed time but
   * at least the request timeout.
   */
  readonly latency: {
    buckets: SerializedHistogram;
    total: number;
    max: number;
    min: number;
    sum: number;
  };
  /** Latency of the accepted ones (202, or 200 for the ceilings). */
  readonly acceptedLatency: {
    buckets: SerializedHistogram;
    total: number;
    max: number;
    min: number;
    sum: number;
  };
  /** Answers that arrived within the window (closed mode throughput). */
  readonly completedInWindow: number;
  readonly acceptedInWindow: number;
  readonly windowMs: number;
  /** Accepted answers per second of the window (for charts). */
  readonly acceptedPerSecond: number[];
  /** Largest number of requests waiting for a free connection (open mode: the generator fell behind). */
  readonly maxQueued: number;
  readonly connectionsOpened: number;
  /** The generator's own CPU during warmup + window + drain, µs. */
  readonly cpuUserUs: number;
  readonly cpuSystemUs: number;
  readonly elapsedMs: number;
  readonly windowStartEpochMs: number;
  readonly sampleErrorBody?: string;
}
