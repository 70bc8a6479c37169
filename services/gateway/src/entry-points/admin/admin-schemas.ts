import {
  bearerSecurity,
  errorResponses,
  nextPageProperty,
  pageQueryProperties,
  skuSchema,
  type PageLimits,
} from '../http/json-schemas.js';
import { orderSchema, orderStatuses } from '../orders/order-schemas.js';
import { productSchema } from '../products/product-schemas.js';

/** JSON schemas of /v1/admin/*: catalog, stock and key rotation, for the admin role only. */

const adminErrors = [400, 401, 403, 413, 415, 429, 500, 503, 504];
/** Stock counts are 32-bit on the wire. */
const largestStockDelta = 2 ** 31 - 1;

const productResponse = { description: 'The product as it is now.', ...productSchema };

export const upsertProductSchema = {
  operationId: 'upsertProduct',
  summary: 'Create a product, or change its name and price (admin)',
  tags: ['admin'],
  security: bearerSecurity,
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['sku', 'name', 'priceCents'],
    properties: {
      sku: skuSchema,
      name: { type: 'string', minLength: 1, maxLength: 200 },
      priceCents: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
    },
  },
  response: { 200: productResponse, ...errorResponses(adminErrors) },
};

export const adjustStockSchema = {
  operationId: 'adjustStock',
  summary: 'Add (or, with a negative delta, remove) available stock (admin)',
  description: 'An unknown sku is 404; stock that would go below zero is 409.',
  tags: ['admin'],
  security: bearerSecurity,
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['sku', 'delta'],
    properties: {
      sku: skuSchema,
      delta: {
        type: 'integer',
        minimum: -largestStockDelta,
        maximum: largestStockDelta,
        not: { const: 0 },
      },
    },
  },
  response: { 200: productResponse, ...errorResponses([404, 409, ...adminErrors]) },
};

export const rotateKeysSchema = {
  operationId: 'rotateSigningKey',
  summary: 'Rotate the key that signs access tokens (admin)',
  description:
    'A new key signs from now on. The previous key stays in /.well-known/jwks.json until every ' +
    'token it signed has expired (retireAfter), so nobody is logged out. No body (or {}).',
  tags: ['admin'],
  security: bearerSecurity,
  response: {
    200: {
      description: 'The new key, and the one it replaced.',
      type: 'object',
      additionalProperties: false,
      required: ['kid'],
      properties: {
        kid: { type: 'string' },
        alg: {
          type: 'string',
          description:
            'The new key’s signing algorithm (ES256 or EdDSA), as configured in identity.',
        },
        retiringKid: { type: 'string' },
        retireAfter: { type: 'string', format: 'date-time' },
      },
    },
    ...errorResponses(adminErrors),
  },
};

/** An order as the admin search shows it: the customer's view plus the customer. */
const adminOrderSchema = {
  ...orderSchema,
  required: [...orderSchema.required, 'customerId'],
  properties: {
    ...orderSchema.properties,
    customerId: { type: 'string', description: 'The customer (their user id).' },
  },
} as const;

export function searchOrdersSchema(limits: PageLimits) {
  return {
    operationId: 'searchOrders',
    summary: "Search every customer's orders, newest first, a page at a time (admin)",
    description:
      'Every filter is optional and they combine: status, customer (a user id), placement time ' +
      'from (inclusive) and to (exclusive). Keep the filters when following `next`.',
    tags: ['admin'],
    security: bearerSecurity,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: {
        status: { type: 'string', enum: orderStatuses },
        customer: {
          type: 'string',
          pattern: '^[A-Za-z0-9_-]{1,64}$',
          description: 'The customer: their user id (the `sub` of their access token).',
        },
        from: {
          type: 'string',
          format: 'date-time',
          description: 'Placed at or after this time (RFC 3339).',
        },
        to: {
          type: 'string',
          format: 'date-time',
          description: 'Placed before this time (RFC 3339); must be after `from`.',
        },
        ...pageQueryProperties(limits, 'orders'),
      },
    },
    response: {
      200: {
        description: 'A page of the matching orders.',
        type: 'object',
        additionalProperties: false,
        required: ['orders'],
        properties: {
          orders: { type: 'array', items: adminOrderSchema },
          next: nextPageProperty,
        },
      },
      ...errorResponses([400, 401, 403, 429, 500, 503, 504]),
    },
  };
}
