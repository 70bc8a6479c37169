import { MethodOptions_IdempotencyLevel } from '@bufbuild/protobuf/wkt';
import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { findAppError } from '../errors/index.js';
import {
  CircuitBreaker,
  circuitOpenCode,
  retry,
  RetryBudget,
  type CircuitState,
  type RetryBudgetOptions,
  type RetryPolicy,
} from '../resilience/index.js';
import { errorCodeHeader, sheddingHeader } from './rpc-errors.js';

/**
 * Resilience for one RPC client (one callee): a circuit breaker, and retries with backoff, jitter
 * and a retry budget, all inside the caller's deadline (the Connect signal carries it, so no retry
 * outlives the request that caused it).
 *
 * A call is retried only when another try is safe: the callee never got it (connection refused,
 * the breaker open, an injected fault refused before the handler) or the method is declared
 * idempotent in its proto. A `retry-after` answer is honoured.
 */
export interface RpcResilienceOptions {
  readonly retry: RetryPolicy;
  readonly retryBudget: RetryBudgetOptions;
  readonly circuitBreaker: { readonly failureThreshold: number; readonly openMs: number };
}

const unhealthyCodes = new Set([
  Code.Unavailable,
  Code.DeadlineExceeded,
  Code.Internal,
  Code.Unknown,
  Code.ResourceExhausted,
]);
/** Error codes of refusals made before any handler ran. */
const refusedBeforeHandling = new Set(['FAULT_INJECTED', circuitOpenCode]);
const notDeliveredErrnos = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN']);

function errnoChain(error: unknown): string[] {
  const codes: string[] = [];
  for (
    let e: unknown = error, depth = 0;
    e && typeof e === 'object' && depth < 8;
    e = (e as { cause?: unknown }).cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string') codes.push(code);
  }
  return codes;
}

export function neverReachedCallee(error: unknown): boolean {
  if (errnoChain(error).some((c) => notDeliveredErrnos.has(c))) return true;
  const connectError = ConnectError.from(error);
  return refusedBeforeHandling.has(connectError.metadata.get(errorCodeHeader) ?? '');
}

function retryAfterMs(error: unknown): number | undefined {
  const value = ConnectError.from(error).metadata.get('retry-after');
  const seconds = value === null ? NaN : Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : undefined;
}

/**
 * `observe` is given the breaker's state reader once and returns what the breaker calls on each
 * change of state (the client's metrics, rpc-circuit-metrics.ts).
 */
export function rpcResilienceInterceptor(
  callee: string,
  options: RpcResilienceOptions,
  observe?: (state: () => CircuitState) => (next: CircuitState) => void,
): Interceptor {
  const breaker: CircuitBreaker = new CircuitBreaker(callee, {
    ...options.circuitBreaker,
    // A callee shedding load answered, at once and on purpose: it is healthy, and opening the breaker
    // would turn its backpressure into CIRCUIT_OPEN for every caller.
    isFailure: (error) => {
      const connectError = ConnectError.from(error);
      return (
        unhealthyCodes.has(connectError.code) && connectError.metadata.get(sheddingHeader) !== '1'
      );
    },
    onStateChange: (next) => onStateChange?.(next),
  });
  // Read only on a change of state, after this line ran.
  const onStateChange = observe?.(() => breaker.state);
  const budget = new RetryBudget(options.retryBudget);
  return (next) => async (request) => {
    const idempotent =
      request.method.idempotency !== MethodOptions_IdempotencyLevel.IDEMPOTENCY_UNKNOWN;
    try {
      return await retry(() => breaker.execute(() => next(request)), {
        policy: options.retry,
        budget,
        signal: request.signal,
        isRetryable: (error) =>
          ConnectError.from(error).code === Code.Unavailable &&
          (idempotent || neverReachedCallee(error)),
        retryAfterMs,
      });
    } catch (error) {
      // The open breaker speaks Connect like any unavailable callee, so callers map it as usual.
      const appError = findAppError(error);
      if (appError?.code === circuitOpenCode) {
        throw new ConnectError(appError.message, Code.Unavailable, {
          [errorCodeHeader]: circuitOpenCode,
        });
      }
      throw error;
    }
  };
}
