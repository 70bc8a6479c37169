import type { FastifyReply } from 'fastify';
import { AppError, findAppError } from '@orderly/platform';

export interface UpstreamAdmissionLimits {
  /** Calls waiting on the upstream at once. */
  readonly maxInFlight: number;
  /** Retry-After (seconds) of a refused request. */
  readonly retryAfterSeconds: number;
  /** After the upstream shed a call of some kind, refuse that kind here for this long (ms). */
  readonly shedHoldMs: number;
}

/**
 * Load shedding in front of one upstream service.
 *
 * - At most `maxInFlight` calls wait on it at once. Beyond that the request is refused at once with
 *   503 UPSTREAM_OVERLOADED and `Retry-After`, instead of queueing behind the others until its
 *   deadline runs out and it becomes a 504 — which would also keep the upstream busy with work
 *   whose caller has already given up.
 * - An upstream that answers "unavailable" itself (its own backpressure) gets the same Retry-After
 *   on the way out. When that answer is deliberate shedding (ORDER_INTAKE_SATURATED), calls of the
 *   same kind are answered with it here for `shedHoldMs`, without asking the upstream: under
 *   overload each refusal then costs the gateway alone, not a round trip and the upstream's CPU,
 *   which the backlog it is protecting needs.
 */
export class UpstreamAdmission {
  private inFlight = 0;
  private readonly shedding = new Map<
    string,
    { readonly until: number; readonly error: AppError }
  >();

  constructor(
    private readonly upstream: string,
    private readonly limits: () => UpstreamAdmissionLimits,
    private readonly now: () => number = Date.now,
  ) {}

  /** `shedKey` names the kind of call whose shedding answers are held (e.g. 'PlaceOrder'). */
  async run<T>(reply: FastifyReply, call: () => Promise<T>, shedKey?: string): Promise<T> {
    const limits = this.limits();
    const held = shedKey === undefined ? undefined : this.shedding.get(shedKey);
    if (held && held.until > this.now()) {
      reply.header('retry-after', String(limits.retryAfterSeconds));
      throw new AppError(held.error.code, held.error.message, {
        kind: 'unavailable',
        shedding: true,
      });
    }
    if (this.inFlight >= limits.maxInFlight) {
      reply.header('retry-after', String(limits.retryAfterSeconds));
      throw new AppError(
        'UPSTREAM_OVERLOADED',
        `${this.upstream} is at capacity; retry after the time in Retry-After`,
        { kind: 'unavailable', shedding: true },
      );
    }
    this.inFlight++;
    try {
      return await call();
    } catch (error) {
      const appError = findAppError(error);
      if (appError?.kind === 'unavailable' && !reply.hasHeader('retry-after')) {
        reply.header('retry-after', String(limits.retryAfterSeconds));
      }
      if (appError?.shedding && shedKey !== undefined && limits.shedHoldMs > 0) {
        this.shedding.set(shedKey, { until: this.now() + limits.shedHoldMs, error: appError });
      }
      throw error;
    } finally {
      this.inFlight--;
    }
  }
}

/** The gateway's admission in front of the order service, from its (live) configuration. */
export function orderServiceAdmission(
  config: () => {
    readonly orderServiceMaxInFlight: number;
    readonly overloadRetryAfterSeconds: number;
    readonly orderServiceShedHoldMs: number;
  },
): UpstreamAdmission {
  return new UpstreamAdmission('the order service', () => {
    const c = config();
    return {
      maxInFlight: c.orderServiceMaxInFlight,
      retryAfterSeconds: c.overloadRetryAfterSeconds,
      shedHoldMs: c.orderServiceShedHoldMs,
    };
  });
}
