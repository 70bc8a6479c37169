import { errorResponses, noSecurity } from '../http/json-schemas.js';

/** JSON schemas of /v1/products (see ../http/json-schemas.ts for how they are used). */

/** A product as every route answers it (the catalog, and the admin routes that change it). */
export const productSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sku', 'name', 'priceCents', 'available'],
  properties: {
    sku: { type: 'string' },
    name: { type: 'string' },
    priceCents: { type: 'integer' },
    available: { type: 'integer' },
  },
} as const;

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
          items: productSchema,
        },
      },
    },
    ...errorResponses([429, 500, 503, 504]),
  },
};
