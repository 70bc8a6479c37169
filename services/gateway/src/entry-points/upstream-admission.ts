import type { FastifyReply } from 'fastify';
import { AppError } from '@orderly/platform';

/**
 * Load shedding in front of one upstream service: at most `maxInFlight()` calls wait on it at once.
 * Beyond that the request is refused at once with 503 UPSTREAM_OVERLOADED and `Retry-After`,
 * instead of queueing behind the others until its deadline runs out and it becomes a 504 — which
 * would also keep the upstream busy with work whose caller has already given up.
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
    } finally {
      this.inFlight--;
    }
  }
}
