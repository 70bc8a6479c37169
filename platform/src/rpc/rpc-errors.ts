import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { AppError, findAppError, isDeadlineExceeded, type ErrorKind } from '../errors/index.js';
import type { Logger } from '../log/index.js';
import { isDependencyFailure } from '../resilience/dependency-failure.js';

/** Carries the stable error code across Connect, so the caller can rebuild the AppError. */
export const errorCodeHeader = 'orderly-error-code';
/** Set on an error answer that is deliberate load shedding (AppError `shedding`), not a failure. */
export const sheddingHeader = 'orderly-shedding';

const codeByKind: Record<ErrorKind, Code> = {
  invalid: Code.InvalidArgument,
  'not-found': Code.NotFound,
  conflict: Code.AlreadyExists,
  unauthenticated: Code.Unauthenticated,
  forbidden: Code.PermissionDenied,
  'too-large': Code.InvalidArgument,
  'unsupported-media': Code.InvalidArgument,
  'rate-limited': Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  'deadline-exceeded': Code.DeadlineExceeded,
  internal: Code.Internal,
};

const kindByCode = new Map<Code, ErrorKind>([
  [Code.InvalidArgument, 'invalid'],
  [Code.NotFound, 'not-found'],
  [Code.AlreadyExists, 'conflict'],
  [Code.Unauthenticated, 'unauthenticated'],
  [Code.PermissionDenied, 'forbidden'],
  [Code.ResourceExhausted, 'rate-limited'],
  [Code.Unavailable, 'unavailable'],
  [Code.DeadlineExceeded, 'deadline-exceeded'],
  [Code.Canceled, 'deadline-exceeded'],
  // The connection to the callee broke mid call (it crashed, a proxy reset it): the outcome is unknown,
  // so the caller should retry (idempotently) rather than report a bug. Found by the chaos drill's kills.
  [Code.Aborted, 'unavailable'],
]);

/**
 * The one server interceptor that maps errors: an AppError keeps its code and message; anything
 * else becomes Internal with a generic message, and its detail goes to the log only.
 */
export function errorMappingInterceptor(log: Logger): Interceptor {
  return (next) => async (request) => {
    try {
      return await next(request);
    } catch (error) {
      throw toConnectError(error, `${request.service.typeName}/${request.method.name}`, log);
    }
  };
}

/**
 * The Connect error a failed procedure answers: an AppError keeps its code and message; anything
 * else becomes Internal with a generic message, and its detail goes to the log only. Also used for
 * the per-item errors of a batch call, which must read exactly like the single call's.
 */
export function toConnectError(error: unknown, procedure: string, log: Logger): ConnectError {
  const appError = findAppError(error);
  if (appError && appError.kind !== 'internal') {
    return new ConnectError(appError.message, codeByKind[appError.kind], {
      [errorCodeHeader]: appError.code,
      ...(appError.shedding ? { [sheddingHeader]: '1' } : {}),
    });
  }
  if (isDeadlineExceeded(error)) {
    return new ConnectError(
      `${procedure} did not finish before its deadline`,
      Code.DeadlineExceeded,
      { [errorCodeHeader]: 'DEADLINE_EXCEEDED' },
    );
  }
  if (error instanceof ConnectError) return error;
  if (isDependencyFailure(error)) {
    // The database or broker is unreachable: the caller may retry later (503), it is no bug here.
    log.warn({ err: error, procedure }, 'rpc failed: a dependency is unreachable');
    return new ConnectError(`${procedure} cannot reach a dependency`, Code.Unavailable, {
      [errorCodeHeader]: 'DEPENDENCY_UNAVAILABLE',
    });
  }
  log.error({ err: error, procedure }, 'rpc failed');
  return new ConnectError('internal error', Code.Internal, {
    [errorCodeHeader]: appError?.code ?? 'INTERNAL',
  });
}

/** Rebuilds an AppError from a failed call, so callers handle one error type. */
export function fromRpcError(error: unknown, what: string): AppError {
  const connectError = ConnectError.from(error);
  const broken = brokenConnection(connectError);
  const code =
    connectError.metadata.get(errorCodeHeader) ??
    (broken ? 'UPSTREAM_UNAVAILABLE' : `UPSTREAM_${Code[connectError.code].toUpperCase()}`);
  const kind =
    kindByCode.get(connectError.code) ??
    (connectError.code === Code.Unknown || broken ? 'unavailable' : 'internal');
  // The callee refused this process's workload identity (workload-identity.ts): a deployment fault
  // here, never the end user's, so it must not reach them as their own 401/403.
  const callerRefused = code === 'CALLER_UNAUTHENTICATED' || code === 'CALLER_NOT_ALLOWED';
  return new AppError(code, connectError.rawMessage || `${what} failed`, {
    kind: callerRefused ? 'internal' : kind,
    cause: error,
    shedding: connectError.metadata.get(sheddingHeader) === '1',
  });
}

/**
 * The call never reached an answer because the connection was gone: the callee was killed while a
 * pooled connection still pointed at it (connect-node reports a write's EPIPE as `internal`). Like
 * `aborted`, the outcome is unknown and the caller should retry with its idempotency key, so it is
 * `unavailable` (503), not a bug (500). Found by the long chaos drill (6 answers of 500 after kills).
 */
function brokenConnection(error: ConnectError): boolean {
  if (error.metadata.get(errorCodeHeader) !== null) return false; // the callee answered
  for (
    let e: unknown = error.cause, depth = 0;
    e instanceof Error && depth < 8;
    e = e.cause, depth++
  ) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && brokenConnectionCodes.has(code)) return true;
  }
  return false;
}

const brokenConnectionCodes = new Set([
  'EPIPE',
  'ECONNRESET',
  'ECONNABORTED',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);
