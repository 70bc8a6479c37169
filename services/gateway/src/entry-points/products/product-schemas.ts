import {
  errorResponses,
  nextPageProperty,
  noSecurity,
  pageQueryProperties,
  type PageLimits,
} from '../http/json-schemas.js';
import { moneySchema } from '../http/money-json.js';

/** JSON schemas of /v1/products (see ../http/json-schemas.ts for how they are used). */

/** A product as every route answers it (the catalog, and the admin routes that change it). */
export const productSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['sku', 'name', 'available'],
  properties: {
    sku: { type: 'string' },
    name: { type: 'string' },
    priceCents: { type: 'integer', description: 'Version 1 (always present there).' },
    price: { ...moneySchema, description: 'Version 2 (always present there).' },
    available: { type: 'integer' },
  },
} as const;

export function listProductsSchema(limits: PageLimits) {
  return {
    operationId: 'listProducts',
    summary:
      'List the catalog in SKU order, with the stock that can still be ordered, a page at a time',
    tags: ['products'],
    security: noSecurity,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: pageQueryProperties(limits, 'products'),
    },
    response: {
      200: {
        description: 'A page of the catalog.',
        type: 'object',
        additionalProperties: false,
        required: ['products'],
        properties: {
          products: {
            type: 'array',
            items: productSchema,
          },
          next: nextPageProperty,
        },
      },
      ...errorResponses([400, 429, 500, 503, 504]),
    },
  };
}
