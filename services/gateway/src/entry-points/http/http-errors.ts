import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AppError, findAppError, type ErrorKind, type Logger } from '@orderly/platform';

/**
 * The gateway's error registry and the one place that turns any failure into the public envelope
 * `{"error":{"code":"STABLE_CODE","message":"..."}}`. Malformed input is always a 4xx; only a
 * bug or an upstream internal error is a 500, and its detail goes to the log, never to the client.
 */
export interface ErrorEnvelope {
  readonly error: { readonly code: string; readonly message: string };
}

export const statusByKind: Record<ErrorKind, number> = {
  invalid: 400,
  unauthenticated: 401,
  forbidden: 403,
  'not-found': 404,
  conflict: 409,
  'too-large': 413,
  'unsupported-media': 415,
  'rate-limited': 429,
  internal: 500,
  unavailable: 503,
  'deadline-exceeded': 504,
};

export const validationFailed = (message: string) =>
  new AppError('VALIDATION_FAILED', message, { kind: 'invalid' });
export const malformedJson = () =>
  new AppError('MALFORMED_JSON', 'the request body is not valid JSON', { kind: 'invalid' });
export const malformedRequest = (message: string) =>
  new AppError('MALFORMED_REQUEST', message, { kind: 'invalid' });
export const payloadTooLarge = () =>
  new AppError('PAYLOAD_TOO_LARGE', 'the request body is larger than allowed', {
    kind: 'too-large',
  });
export const unsupportedMediaType = () =>
  new AppError('UNSUPPORTED_MEDIA_TYPE', 'the request body must be application/json', {
    kind: 'unsupported-media',
  });
export const routeNotFound = () =>
  new AppError('ROUTE_NOT_FOUND', 'no route matches this method and path', { kind: 'not-found' });
/** Same answer for an unknown id, a malformed one and another customer's: formats are not confirmed. */
export const orderNotFound = (cause?: unknown) =>
  new AppError('ORDER_NOT_FOUND', 'order not found', { kind: 'not-found', cause });
export const upstreamInvalidResponse = (what: string) =>
  new AppError(
    'UPSTREAM_INVALID_RESPONSE',
    `${what} returned an answer the gateway cannot represent`,
  );

const methodNotAllowedStatus = 405;

interface ValidationIssue {
  readonly instancePath?: string;
  readonly message?: string;
  readonly keyword?: string;
  readonly params?: Record<string, unknown>;
}

/** `body/lines/0/quantity must be <= 1000`: the field first, so clients can point at it. */
function describeValidation(
  context: string | undefined,
  issue: ValidationIssue | undefined,
): string {
  if (!issue) return 'the request is invalid';
  const field = `${context ?? 'request'}${issue.instancePath ?? ''}`;
  const extra = issue.params?.additionalProperty;
  if (issue.keyword === 'additionalProperties' && typeof extra === 'string') {
    return `${field} has an unknown property '${extra}'`;
  }
  const missing = issue.params?.missingProperty;
  if (issue.keyword === 'required' && typeof missing === 'string')
    return `${field}/${missing} is required`;
  return `${field} ${issue.message ?? 'is invalid'}`;
}

/** Fastify's own errors (parsing, validation, routing) as AppErrors with stable codes. */
export function toAppError(error: unknown): AppError | undefined {
  const appError = findAppError(error);
  if (appError) return appError;
  if (typeof error !== 'object' || error === null) return undefined;
  const fastifyError = error as Partial<FastifyError> & { validationContext?: string };
  if (Array.isArray(fastifyError.validation)) {
    return validationFailed(
      describeValidation(fastifyError.validationContext, fastifyError.validation[0]),
    );
  }
  switch (fastifyError.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return malformedJson();
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return payloadTooLarge();
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
    case 'FST_ERR_CTP_INVALID_CONTENT_TYPE':
      return unsupportedMediaType();
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return malformedRequest('the body does not match its Content-Length');
    case 'FST_ERR_BAD_URL':
      return malformedRequest('the URL is not valid');
    case 'FST_ERR_MAX_PARAM_LENGTH':
      return routeNotFound();
    default:
      break;
  }
  const status = fastifyError.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    if (status === 413) return payloadTooLarge();
    if (status === 415) return unsupportedMediaType();
    return malformedRequest('the request could not be read');
  }
  return undefined;
}

export function envelope(code: string, message: string): ErrorEnvelope {
  return { error: { code, message } };
}

/** Sends `error` as the envelope with the status of its kind; unknown failures are logged and become 500. */
export function sendError(
  log: Logger,
  request: FastifyRequest,
  reply: FastifyReply,
  error: unknown,
): FastifyReply {
  const appError = toAppError(error);
  if (!appError || appError.kind === 'internal') {
    log.error(
      { err: error, route: request.routeOptions.url, code: appError?.code },
      'request failed',
    );
    return reply
      .code(statusByKind.internal)
      .type('application/json')
      .send(envelope('INTERNAL', 'internal error'));
  }
  const status = statusByKind[appError.kind];
  // Shedding is deliberate and counted by the access log and metrics; a warning with a stack trace
  // for each refusal would make an overload a log storm, taking CPU from the work being protected.
  if (status >= 500 && !appError.shedding)
    log.warn(
      { err: error, route: request.routeOptions.url, code: appError.code },
      'upstream failed',
    );
  // RFC 6750: a 401 always names the scheme; token and role refusals say what was wrong.
  const challenge = appError.details?.wwwAuthenticate;
  if (typeof challenge === 'string') reply.header('www-authenticate', challenge);
  else if (status === statusByKind.unauthenticated) reply.header('www-authenticate', 'Bearer');
  return reply
    .code(status)
    .type('application/json')
    .send(envelope(appError.code, appError.message));
}

const allMethods = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const;

/**
 * Unknown paths are 404 ROUTE_NOT_FOUND; a known path with another method is 405 METHOD_NOT_ALLOWED
 * with an `Allow` header.
 */
export function sendNotFound(
  findRoute: (method: string, url: string) => boolean,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const path = request.url.split('?')[0] ?? '';
  const allowed = allMethods.filter((method) => findRoute(method, path));
  if (allowed.length > 0) {
    return reply
      .code(methodNotAllowedStatus)
      .header('allow', allowed.join(', '))
      .type('application/json')
      .send(
        envelope(
          'METHOD_NOT_ALLOWED',
          `${request.method} is not allowed here; use ${allowed.join(', ')}`,
        ),
      );
  }
  const notFound = routeNotFound();
  return reply
    .code(statusByKind['not-found'])
    .type('application/json')
    .send(envelope(notFound.code, notFound.message));
}
