import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  deadlineExceeded,
  fromRpcError,
  isDeadlineExceeded,
  type AppError,
} from '@orderly/platform';

/**
 * The budget of one inbound request: it starts when the request arrives, aborts its signal when
 * the budget is spent or the client goes away, and hands the time left to every upstream call.
 */
export class RequestDeadline {
  private readonly controller = new AbortController();
  private readonly expiresAt: number;
  private readonly timer: NodeJS.Timeout;

  constructor(budgetMs: number) {
    this.expiresAt = Date.now() + budgetMs;
    this.timer = setTimeout(() => {
      this.controller.abort(new DOMException('the request budget is spent', 'TimeoutError'));
    }, budgetMs);
    this.timer.unref();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  remainingMs(): number {
    return this.expiresAt - Date.now();
  }

  expired(): boolean {
    return (
      this.remainingMs() <= 0 ||
      (this.signal.reason instanceof DOMException && this.signal.reason.name === 'TimeoutError')
    );
  }

  /** The client closed the connection: nobody is waiting for the answer any more. */
  cancel(): void {
    this.controller.abort(new DOMException('the client went away', 'AbortError'));
  }

  release(): void {
    clearTimeout(this.timer);
  }

  /** Connect call options: the caller's signal and the time left as the callee's deadline. */
  callOptions(what: string): { signal: AbortSignal; timeoutMs: number } {
    const timeoutMs = this.remainingMs();
    if (timeoutMs <= 0 || this.signal.aborted) throw deadlineExceeded(what);
    return { signal: this.signal, timeoutMs };
  }
}

declare module 'fastify' {
  interface FastifyRequest {
    deadline: RequestDeadline;
  }
}

/** onRequest: every request gets its budget; the budget is released once the response is done. */
export function startDeadline(budgetMs: number) {
  return (request: FastifyRequest, reply: FastifyReply, done: () => void): void => {
    const deadline = new RequestDeadline(budgetMs);
    request.deadline = deadline;
    reply.raw.once('close', () => {
      if (!reply.raw.writableFinished) deadline.cancel();
      deadline.release();
    });
    done();
  };
}

/**
 * Calls one upstream procedure within the request's deadline. A failure comes back as an AppError
 * with the upstream's stable code; running out of budget is always DEADLINE_EXCEEDED.
 */
export async function callUpstream<T>(
  deadline: RequestDeadline,
  what: string,
  call: (options: { signal: AbortSignal; timeoutMs: number }) => Promise<T>,
): Promise<T> {
  const options = deadline.callOptions(what);
  try {
    return await call(options);
  } catch (error) {
    if (deadline.expired()) throw deadlineExceeded(what, error);
    const appError: AppError = fromRpcError(error, what);
    if (
      appError.kind === 'deadline-exceeded' &&
      isDeadlineExceeded(error) &&
      appError.code.startsWith('UPSTREAM_')
    ) {
      throw deadlineExceeded(what, error);
    }
    throw appError;
  }
}
