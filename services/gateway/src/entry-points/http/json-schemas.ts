import type { GatewayConfig } from '../../config.js';

/**
 * JSON schemas of the public API. Fastify validates requests and serializes responses with them,
 * and @fastify/swagger turns the same objects into /openapi.json, so the document cannot drift
 * from what the gateway accepts. Every object refuses unknown properties.
 */
type Limits = Pick<
  GatewayConfig,
  'maxLinesPerOrder' | 'maxQuantityPerLine' | 'idempotencyKeyMaxLength' | 'listLimitMax'
>;

export const orderStatuses = ['PENDING', 'STOCK_RESERVED', 'CONFIRMED', 'CANCELLED'] as const;
export const cancellationReasons = ['OUT_OF_STOCK', 'PAYMENT_DECLINED', 'TIMED_OUT'] as const;

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
  400: 'Malformed JSON (MALFORMED_JSON), invalid input (VALIDATION_FAILED) or an unreadable request (MALFORMED_REQUEST).',
  401: 'No access token (AUTH_TOKEN_MISSING) or one that is not valid (AUTH_TOKEN_INVALID), with WWW-Authenticate.',
  403: 'The token is valid but lacks the admin role (AUTH_FORBIDDEN).',
  404: 'Not found (ROUTE_NOT_FOUND, ORDER_NOT_FOUND).',
  409: 'Conflict, e.g. an idempotency key reused with a different body (ORDER_IDEMPOTENCY_KEY_REUSED).',
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

const readErrors = [400, 401, 404, 429, 500, 503, 504];
const writeErrors = [400, 401, 404, 409, 413, 415, 429, 500, 503, 504];

/** The operation needs `Authorization: Bearer <access token>` (the document's default). */
export const bearerSecurity = [{ bearerAuth: [] }];
/** The operation is public: no token. */
export const noSecurity = [];

/** The customer is the access token's subject; the only header a route adds is the idempotency key. */
function idempotencyHeaders(limits: Limits) {
  return {
    type: 'object',
    required: ['Idempotency-Key'],
    properties: {
      'Idempotency-Key': {
        type: 'string',
        minLength: 1,
        maxLength: limits.idempotencyKeyMaxLength,
        pattern: '^[A-Za-z0-9_.:-]+$',
        description: 'Repeating a request with the same key and body returns the same order.',
      },
    },
  };
}

const orderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'status', 'lines', 'totalCents', 'placedAt', 'history'],
  properties: {
    orderId: { type: 'string', format: 'uuid' },
    status: { type: 'string', enum: orderStatuses },
    lines: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'quantity', 'unitPriceCents'],
        properties: {
          sku: { type: 'string' },
          quantity: { type: 'integer' },
          unitPriceCents: {
            type: 'integer',
            description: 'Known once stock is reserved; 0 before.',
          },
        },
      },
    },
    totalCents: { type: 'integer' },
    paymentMethod: { type: 'string' },
    cancellationReason: { type: 'string', enum: cancellationReasons },
    placedAt: { type: 'string', format: 'date-time' },
    history: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['status', 'at'],
        properties: {
          status: { type: 'string', enum: orderStatuses },
          at: { type: 'string', format: 'date-time' },
        },
      },
    },
  },
} as const;

const orderIdParams = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId'],
  properties: {
    orderId: {
      type: 'string',
      format: 'uuid',
      description: 'Anything that is not a known order of the customer is 404.',
    },
  },
} as const;

export function placeOrderSchema(limits: Limits) {
  return {
    operationId: 'placeOrder',
    summary: 'Place an order',
    description:
      'Accepts the order (202) and starts fulfilment; poll GET /v1/orders/{orderId} for its outcome. ' +
      'The same Idempotency-Key with the same body answers the same order again (Idempotent-Replayed: true); ' +
      'with a different body it is 409.',
    tags: ['orders'],
    security: bearerSecurity,
    headers: idempotencyHeaders(limits),
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['lines', 'paymentMethod'],
      properties: {
        lines: {
          type: 'array',
          minItems: 1,
          maxItems: limits.maxLinesPerOrder,
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['sku', 'quantity'],
            properties: {
              sku: skuSchema,
              quantity: { type: 'integer', minimum: 1, maximum: limits.maxQuantityPerLine },
            },
          },
        },
        paymentMethod: { type: 'string', pattern: '^[a-z0-9_]{1,64}$', examples: ['pm_card_ok'] },
      },
    },
    response: {
      202: {
        description: 'Accepted (or replayed): the order as it is now.',
        headers: {
          Location: {
            type: 'string',
            description: 'Where to read the order: /v1/orders/{orderId}.',
          },
          'Idempotent-Replayed': {
            type: 'string',
            enum: ['true'],
            description: 'Present when the Idempotency-Key had already been used with this body.',
          },
        },
        ...orderSchema,
      },
      ...errorResponses(writeErrors),
    },
  };
}

export function getOrderSchema(_limits: Limits) {
  return {
    operationId: 'getOrder',
    summary: "Read one of the customer's orders",
    description:
      "A malformed id, an unknown id and another customer's order are all 404 ORDER_NOT_FOUND.",
    tags: ['orders'],
    security: bearerSecurity,
    params: orderIdParams,
    response: {
      200: { description: 'The order with its status history.', ...orderSchema },
      ...errorResponses(readErrors),
    },
  };
}

export function listOrdersSchema(limits: Limits) {
  return {
    operationId: 'listOrders',
    summary: "List the customer's orders, newest first",
    tags: ['orders'],
    security: bearerSecurity,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        limit: {
          type: 'integer',
          minimum: 1,
          maximum: limits.listLimitMax,
          description: `How many orders at most (default ${limits.listLimitMax}).`,
        },
      },
    },
    response: {
      200: {
        description: "The customer's orders.",
        type: 'object',
        additionalProperties: false,
        required: ['orders'],
        properties: { orders: { type: 'array', items: orderSchema } },
      },
      ...errorResponses(readErrors),
    },
  };
}

export const listProductsSchema = {
  operationId: 'listProducts',
  summary: 'List the catalog with the stock that can still be ordered',
  tags: ['products'],
  security: noSecurity,
  response: {
    200: {
      description: 'The catalog.',
      type: 'object',
      additionalProperties: false,
      required: ['products'],
      properties: {
        products: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['sku', 'name', 'priceCents', 'available'],
            properties: {
              sku: { type: 'string' },
              name: { type: 'string' },
              priceCents: { type: 'integer' },
              available: { type: 'integer' },
            },
          },
        },
      },
    },
    ...errorResponses([429, 500, 503, 504]),
  },
};
