/**
 * JSON schemas of the public API. Fastify validates requests and serializes responses with them,
 * and @fastify/swagger turns the same objects into /openapi.json, so the document cannot drift
 * from what the gateway accepts. Every object refuses unknown properties. Here are the pieces the
 * resources share; each resource's own schemas are beside its routes (`orders/order-schemas.ts`,
 * `products/product-schemas.ts`, `auth/auth-schemas.ts`, `admin/admin-schemas.ts`).
 */

export const skuSchema = {
  type: 'string',
  pattern: '^[A-Z0-9-]{1,32}$',
  description: 'Stock keeping unit: upper-case letters, digits and dashes.',
  examples: ['SKU-1'],
} as const;

const errorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      additionalProperties: false,
      required: ['code', 'message'],
      properties: {
        code: {
          type: 'string',
          description: 'Stable, machine-readable code.',
          examples: ['VALIDATION_FAILED'],
        },
        message: { type: 'string', description: 'Human-readable explanation; may change.' },
      },
    },
  },
} as const;

const errorDescriptions: Record<number, string> = {
  400: 'Malformed JSON (MALFORMED_JSON), invalid input (VALIDATION_FAILED), a page cursor no list gave out (CURSOR_INVALID) or an unreadable request (MALFORMED_REQUEST).',
  401: 'No access token (AUTH_TOKEN_MISSING), one that is not valid (AUTH_TOKEN_INVALID) or one signed with an algorithm no longer accepted (AUTH_TOKEN_ALGORITHM_NOT_ACCEPTED: log in again), with WWW-Authenticate.',
  403: 'The token is valid but lacks the admin role (AUTH_FORBIDDEN).',
  404: 'Not found (ROUTE_NOT_FOUND, ORDER_NOT_FOUND).',
  409: 'Conflict, e.g. an idempotency key reused with a different body (ORDER_IDEMPOTENCY_KEY_REUSED) or an order that can no longer be cancelled (ORDER_NOT_CANCELLABLE).',
  413: 'The body is larger than allowed (PAYLOAD_TOO_LARGE).',
  415: 'The body is not application/json (UNSUPPORTED_MEDIA_TYPE).',
  429: 'Too many requests (RATE_LIMITED); Retry-After says when to try again, RateLimit/RateLimit-Policy describe the limits.',
  500: 'Unexpected failure (INTERNAL).',
  503: 'A service behind the gateway is unavailable (UPSTREAM_UNAVAILABLE).',
  504: 'The request did not finish within its budget (DEADLINE_EXCEEDED).',
};

export function errorResponses(statuses: readonly number[]): Record<number, unknown> {
  return Object.fromEntries(
    statuses.map((status) => [status, { description: errorDescriptions[status], ...errorSchema }]),
  );
}

/** The limits every paged list is built from. */
export interface PageLimits {
  /** Largest `?limit=`, and the page size when it is absent. */
  readonly listLimitMax: number;
  /** Longest `?cursor=`. */
  readonly cursorMaxLength: number;
}

/** `?limit=` and `?cursor=` of a paged list (keyset: a page never repeats or skips an item). */
export function pageQueryProperties(limits: PageLimits, items: string) {
  return {
    limit: {
      type: 'integer',
      minimum: 1,
      maximum: limits.listLimitMax,
      description: `How many ${items} at most (default ${limits.listLimitMax}).`,
    },
    cursor: {
      type: 'string',
      minLength: 1,
      maxLength: limits.cursorMaxLength,
      description:
        `Continue after the previous page: the \`next\` it answered (opaque). A cursor this list ` +
        'did not give out is 400 CURSOR_INVALID.',
    },
  } as const;
}

/** The `next` of a paged list's answer. */
export const nextPageProperty = {
  type: 'string',
  description:
    'Pass it as ?cursor= (with the same filters) for the next page; absent on the last page. ' +
    'Items added while paging never repeat or shift the pages that follow.',
} as const;

/** `?limit=` arrives as text: only plain decimals become numbers, anything else fails validation. */
export function limitAsNumber(query: { limit?: unknown }): void {
  if (typeof query.limit === 'string' && /^[0-9]{1,9}$/.test(query.limit))
    query.limit = Number(query.limit);
}

/** The operation needs `Authorization: Bearer <access token>` (the document's default). */
export const bearerSecurity = [{ bearerAuth: [] }];
/** The operation is public: no token. */
export const noSecurity = [];
