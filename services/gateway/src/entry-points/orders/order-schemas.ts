import type { GatewayConfig } from '../../config.js';
import { currencySchema, moneySchema } from '../http/money-json.js';
import {
  bearerSecurity,
  errorResponses,
  nextPageProperty,
  pageQueryProperties,
  skuSchema,
} from '../http/json-schemas.js';

/** JSON schemas of /v1/orders (see ../http/json-schemas.ts for how they are used). */

/** The configured limits the order schemas are built from. */
export type OrderLimits = Pick<
  GatewayConfig,
  | 'maxLinesPerOrder'
  | 'maxQuantityPerLine'
  | 'idempotencyKeyMaxLength'
  | 'listLimitMax'
  | 'cursorMaxLength'
>;

export const orderStatuses = ['PENDING', 'STOCK_RESERVED', 'CONFIRMED', 'CANCELLED'] as const;
export const cancellationReasons = [
  'OUT_OF_STOCK',
  'PAYMENT_DECLINED',
  'TIMED_OUT',
  'CUSTOMER_REQUESTED',
  'RISK_REJECTED',
] as const;
/** Where an order stands with the risk step (absent when risk never assessed it). */
export const riskReviews = ['AWAITING', 'HELD', 'APPROVED'] as const;

const readErrors = [400, 401, 404, 429, 500, 503, 504];
const writeErrors = [400, 401, 404, 409, 413, 415, 429, 500, 503, 504];

/** The customer is the access token's subject; the only header a route adds is the idempotency key. */
function idempotencyHeaders(limits: OrderLimits, description: string) {
  return {
    type: 'object',
    required: ['Idempotency-Key'],
    properties: {
      'Idempotency-Key': {
        type: 'string',
        minLength: 1,
        maxLength: limits.idempotencyKeyMaxLength,
        pattern: '^[A-Za-z0-9_.:-]+$',
        description,
      },
    },
  };
}

/**
 * An order in either version (X-Contract-Version): version 1 has `totalCents` and per-line
 * `unitPriceCents` (JSON numbers), version 2 has `currency`, `total` and per-line `unitPrice` as
 * money objects (docs/contracts.md). /openapi/v1.json and /openapi/v2.json each show one version.
 */
export const orderSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['orderId', 'status', 'lines', 'placedAt', 'history'],
  properties: {
    orderId: { type: 'string', format: 'uuid' },
    status: { type: 'string', enum: orderStatuses },
    lines: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['sku', 'quantity'],
        properties: {
          sku: { type: 'string' },
          quantity: { type: 'integer' },
          unitPriceCents: {
            type: 'integer',
            description:
              'Version 1 (always present there): known once stock is reserved; 0 before.',
          },
          unitPrice: {
            ...moneySchema,
            description: 'Version 2: the unit price, present once stock is reserved.',
          },
        },
      },
    },
    totalCents: { type: 'integer', description: 'Version 1 (always present there).' },
    currency: {
      ...currencySchema,
      description:
        'Version 2: the currency the order is paid in; absent until stock is reserved for an order placed without one.',
    },
    total: {
      ...moneySchema,
      description: 'Version 2: the total, present once stock is reserved.',
    },
    paymentMethod: { type: 'string' },
    cancellationReason: { type: 'string', enum: cancellationReasons },
    riskReview: {
      type: 'string',
      enum: riskReviews,
      description:
        'The risk step: AWAITING (no payment before risk answers), HELD (for review by an admin, ' +
        'or until the review timeout applies the fail policy), APPROVED. Absent when not assessed.',
    },
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

export function placeOrderSchema(limits: OrderLimits) {
  return {
    operationId: 'placeOrder',
    summary: 'Place an order',
    description:
      'Accepts the order (202) and starts fulfilment; poll GET /v1/orders/{orderId} for its outcome. ' +
      'The same Idempotency-Key with the same body answers the same order again (Idempotent-Replayed: true); ' +
      'with a different body it is 409.',
    tags: ['orders'],
    security: bearerSecurity,
    headers: idempotencyHeaders(
      limits,
      'Repeating a request with the same key and body returns the same order.',
    ),
    body: {
      type: 'object',
      additionalProperties: false,
      required: ['lines', 'paymentMethod'],
      description:
        'Version 1: { lines: [{ sku, quantity }], paymentMethod }. Version 2 adds the required ' +
        '`currency` and, per line, an optional `unitPrice` (the price the customer was shown, whose ' +
        'currency must be the order’s: else 400 MIXED_CURRENCIES). A field of the other version is ' +
        '400 CONTRACT_VERSION_MISMATCH.',
      properties: {
        currency: { ...currencySchema, description: 'Version 2 (required there).' },
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
              unitPrice: {
                ...moneySchema,
                description: 'Version 2, optional: the unit price the customer was shown.',
              },
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

export function getOrderSchema(_limits: OrderLimits) {
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

export function listOrdersSchema(limits: OrderLimits) {
  return {
    operationId: 'listOrders',
    summary: "List the customer's orders, newest first, a page at a time",
    tags: ['orders'],
    security: bearerSecurity,
    querystring: {
      type: 'object',
      additionalProperties: false,
      properties: pageQueryProperties(limits, 'orders'),
    },
    response: {
      200: {
        description: "A page of the customer's orders.",
        type: 'object',
        additionalProperties: false,
        required: ['orders'],
        properties: { orders: { type: 'array', items: orderSchema }, next: nextPageProperty },
      },
      ...errorResponses(readErrors),
    },
  };
}

export function cancelOrderSchema(limits: OrderLimits) {
  return {
    operationId: 'cancelOrder',
    summary: 'Cancel one of the customer’s orders',
    description:
      'The order is CANCELLED (cancellationReason CUSTOMER_REQUESTED) at once. Before its ' +
      'confirmation the fulfilment stops: reserved stock is released and nothing is charged (a ' +
      'charge that raced the cancellation is refunded). After it, the payment is refunded and the ' +
      'stock returns; both follow within moments. An order that is already CANCELLED (for any ' +
      'reason) is answered as it is. A confirmed order can be cancelled for a limited time after ' +
      'its confirmation; later 409 ORDER_NOT_CANCELLABLE. No body (or {}).',
    tags: ['orders'],
    security: bearerSecurity,
    params: orderIdParams,
    headers: idempotencyHeaders(
      limits,
      'Repeating the cancel with the same key answers the same (Idempotent-Replayed: true).',
    ),
    response: {
      200: {
        description: 'The order as it is now: CANCELLED, with its history.',
        headers: {
          'Idempotent-Replayed': {
            type: 'string',
            enum: ['true'],
            description: 'Present when this Idempotency-Key had already cancelled the order.',
          },
        },
        ...orderSchema,
      },
      ...errorResponses([400, 401, 404, 409, 413, 429, 500, 503, 504]),
    },
  };
}
