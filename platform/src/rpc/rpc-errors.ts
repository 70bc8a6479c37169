import { Code, ConnectError, type Interceptor } from '@connectrpc/connect';
import { AppError, findAppError, isDeadlineExceeded, type ErrorKind } from '../errors/index.js';
import type { Logger } from '../log/index.js';

/** Carries the stable error code across Connect, so the caller can rebuild the AppError. */
export const errorCodeHeader = 'orderly-error-code';

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
      const appError = findAppError(error);
      const procedure = `${request.service.typeName}/${request.method.name}`;
      if (appError && appError.kind !== 'internal') {
        throw new ConnectError(appError.message, codeByKind[appError.kind], { [errorCodeHeader]: appError.code });
      }
      if (isDeadlineExceeded(error)) {
        throw new ConnectError(`${procedure} did not finish before its deadline`, Code.DeadlineExceeded, {
          [errorCodeHeader]: 'DEADLINE_EXCEEDED',
        });
      }
      if (error instanceof ConnectError) throw error;
      log.error({ err: error, procedure }, 'rpc failed');
      throw new ConnectError('internal error', Code.Internal, { [errorCodeHeader]: appError?.code ?? 'INTERNAL' });
    }
  };
}

/** Rebuilds an AppError from a failed call, so callers handle one error type. */
export function fromRpcError(error: unknown, what: string): AppError {
  const connectError = ConnectError.from(error);
  const code = connectError.metadata.get(errorCodeHeader) ?? `UPSTREAM_${Code[connectError.code].toUpperCase()}`;
  const kind = kindByCode.get(connectError.code) ?? (connectError.code === Code.Unknown ? 'unavailable' : 'internal');
  return new AppError(code, connectError.rawMessage || `${what} failed`, { kind, cause: error });
}
