import type { FastifyReply } from 'fastify';
import { AppError, findAppError } from '@orderly/platform';

/**
 * Load shedding in front of one upstream service: at most `maxInFlight()` calls wait on it at once.
 * Beyond that the request is refused at once with 503 UPSTREAM_OVERLOADED and `Retry-After`,
 * instead of queueing behind the others until its deadline runs out and it becomes a 504 — which
 * would also keep the upstream busy with work whose caller has already given up. An upstream that
 * answers "unavailable" itself (its own backpressure) gets the same Retry-After on the way out.
 */
export class UpstreamAdmission {
  private inFlight = 0;

  constructor(
    private readonly upstream: string,
    private readonly maxInFlight: () => number,
    private readonly retryAfterSeconds: () => number,
  ) {}

  async run<T>(reply: FastifyReply, call: () => Promise<T>): Promise<T> {
    if (this.inFlight >= this.maxInFlight()) {
      reply.header('retry-after', String(this.retryAfterSeconds()));
      throw new AppError(
        'UPSTREAM_OVERLOADED',
        `${this.upstream} is at capacity; retry after the time in Retry-After`,
        {
          kind: 'unavailable',
        },
      );
    }
    this.inFlight++;
    try {
      return await call();
    } catch (error) {
      // The upstream's own backpressure (e.g. ORDER_INTAKE_SATURATED) tells the client when to come back too.
      if (findAppError(error)?.kind === 'unavailable' && !reply.hasHeader('retry-after')) {
        reply.header('retry-after', String(this.retryAfterSeconds()));
      }
      throw error;
    } finally {
      this.inFlight--;
    }
  }
}
