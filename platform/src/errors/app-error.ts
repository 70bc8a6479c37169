/**
 * The one error type of Orderly. `code` is stable and machine-readable (`ORDER_NOT_FOUND`);
 * `kind` says how transports should present it; `cause` keeps the chain for logs, never for clients.
 */
export type ErrorKind =
  | 'invalid'
  | 'not-found'
  | 'conflict'
  | 'unauthenticated'
  | 'forbidden'
  | 'too-large'
  | 'unsupported-media'
  | 'rate-limited'
  | 'unavailable'
  | 'deadline-exceeded'
  | 'internal';

export interface AppErrorOptions {
  readonly kind?: ErrorKind;
  readonly cause?: unknown;
  /** Safe, client-visible details (e.g. which field was wrong). */
  readonly details?: Readonly<Record<string, unknown>>;
  /** Retrying cannot help; message consumers dead-letter it at once. */
  readonly permanent?: boolean;
  /**
   * Deliberate load shedding by a healthy service (backpressure): the caller should come back
   * later, and a circuit breaker must not count it as the callee failing — it answered at once.
   */
  readonly shedding?: boolean;
}

export class AppError extends Error {
  readonly code: string;
  readonly kind: ErrorKind;
  readonly details: Readonly<Record<string, unknown>> | undefined;
  readonly permanent: boolean;
  readonly shedding: boolean;

  constructor(code: string, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.kind = options.kind ?? 'internal';
    this.details = options.details;
    this.permanent = options.permanent ?? false;
    this.shedding = options.shedding ?? false;
  }
}

/** Walks the `cause` chain; yields the error itself first. */
export function* causeChain(error: unknown): Generator<unknown> {
  const seen = new Set<unknown>();
  let current: unknown = error;
  while (current !== undefined && current !== null && !seen.has(current)) {
    seen.add(current);
    yield current;
    current = current instanceof Error ? current.cause : undefined;
  }
}

export function findAppError(error: unknown): AppError | undefined {
  for (const link of causeChain(error)) if (link instanceof AppError) return link;
  return undefined;
}

const deadlineNames = new Set(['AbortError', 'TimeoutError']);

/** True when a deadline or cancellation anywhere in the cause chain ended the work. */
export function isDeadlineExceeded(error: unknown): boolean {
  for (const link of causeChain(error)) {
    if (link instanceof AppError && link.kind === 'deadline-exceeded') return true;
    if (link instanceof Error && deadlineNames.has(link.name)) return true;
    // PostgreSQL: 57014 query_canceled (statement_timeout or pg_cancel_backend)
    if (typeof link === 'object' && link !== null && (link as { code?: unknown }).code === '57014')
      return true;
    // Connect: Code.DeadlineExceeded is 4
    if (
      link instanceof Error &&
      link.name === 'ConnectError' &&
      (link as { code?: unknown }).code === 4
    )
      return true;
  }
  return false;
}

export function deadlineExceeded(what: string, cause?: unknown): AppError {
  return new AppError('DEADLINE_EXCEEDED', `${what} did not finish before its deadline`, {
    kind: 'deadline-exceeded',
    cause,
  });
}
