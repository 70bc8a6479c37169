import { bearerSecurity, errorResponses, skuSchema } from '../http/json-schemas.js';
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
        retiringKid: { type: 'string' },
        retireAfter: { type: 'string', format: 'date-time' },
      },
    },
    ...errorResponses(adminErrors),
  },
};
