import { AppError, findAppError } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { backoffDelayMs, isDependencyFailure } from '../resilience/index.js';

/**
 * Start in any order: a dependency (PostgreSQL, NATS) that cannot be reached while a service starts
 * is waited for with exponential backoff and full jitter, instead of ending the process. Only
 * "unavailable" failures are waited out; anything else (a refused role, a bad migration, a stream
 * configured differently) is a configuration or code error and fails the start at once.
 */
export interface DependencyRetryPolicy {
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export interface WaitForDependencyOptions {
  readonly policy: DependencyRetryPolicy;
  readonly log: Logger;
  /** Called with why the dependency is being waited for, then with `undefined` once it answered. */
  readonly onWaiting?: (reason: string | undefined) => void;
  readonly random?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Ends the wait (rejecting with START_ABANDONED); by default, a stop asked for during start-up. */
  readonly signal?: AbortSignal;
}

/**
 * A process asked to stop while it still waits for a dependency (runServiceMain on SIGTERM during
 * start-up) should not wait any longer: nothing has been started that needs a graceful stop.
 */
const startAbandoned = new AbortController();

/** Ends every dependency wait of this process now and from now on. */
export function abandonStartupWaits(reason: string): void {
  startAbandoned.abort(reason);
}

export function isStartAbandoned(error: unknown): boolean {
  return findAppError(error)?.code === 'START_ABANDONED';
}

/** Whether waiting may help: the dependency could not be reached, or did not answer in time. */
export function isUnavailableAtStart(error: unknown): boolean {
  if (findAppError(error)?.kind === 'unavailable') return true;
  if (isDependencyFailure(error)) return true;
  // The NATS client reports an unanswered connect or JetStream request as a TimeoutError, without an errno.
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    if (e.name === 'TimeoutError') return true;
  }
  return false;
}

export async function waitForDependency<T>(
  dependency: string,
  attempt: () => Promise<T>,
  options: WaitForDependencyOptions,
): Promise<T> {
  const sleep = options.sleep ?? abortableSleep;
  const signal = options.signal ?? startAbandoned.signal;
  for (let failures = 0; ;) {
    if (signal.aborted) {
      throw new AppError(
        'START_ABANDONED',
        `start abandoned while waiting for ${dependency}: ${String(signal.reason)}`,
        {
          kind: 'unavailable',
        },
      );
    }
    try {
      const result = await attempt();
      if (failures > 0)
        options.log.info({ dependency, failures }, `${dependency} reachable, start continues`);
      options.onWaiting?.(undefined);
      return result;
    } catch (error) {
      if (!isUnavailableAtStart(error)) throw error;
      failures++;
      // Full jitter, but never less than the base delay: a zero wait would retry in a tight loop.
      const delayMs = Math.max(
        options.policy.baseDelayMs,
        backoffDelayMs(options.policy, failures, options.random),
      );
      const reason = error instanceof Error ? error.message : String(error);
      options.log.warn(
        { dependency, failures, delayMs, err: error },
        `${dependency} unavailable at start, next try in ${delayMs} ms`,
      );
      options.onWaiting?.(`waiting for ${dependency} (${failures} failed tries): ${reason}`);
      await sleep(delayMs, signal);
    }
  }
}

function abortableSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
