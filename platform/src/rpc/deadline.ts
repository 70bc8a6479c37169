import type { HandlerContext } from '@connectrpc/connect';
import type { DeadlineOptions } from '../db/index.js';

/**
 * The deadline of an inbound call, ready to hand to the database: the caller's signal (aborted by
 * Connect when `connect-timeout-ms` passes) and the time left, bounded by `defaultTimeoutMs` when
 * the caller sent no deadline.
 */
export function deadlineOf(context: HandlerContext, defaultTimeoutMs: number): DeadlineOptions {
  const remaining = context.timeoutMs();
  if (remaining !== undefined) return { signal: context.signal, timeoutMs: Math.max(1, remaining) };
  return {
    signal: AbortSignal.any([context.signal, AbortSignal.timeout(defaultTimeoutMs)]),
    timeoutMs: defaultTimeoutMs,
  };
}
