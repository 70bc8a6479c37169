/**
 * The body schema the gateway validates for POST /v1/orders (same rules: SKU pattern, line and
 * quantity limits, no unknown properties), so the Fastify ceiling and the baseline do the same
 * validation work as the gateway.
 */
export function placeOrderBodySchema(limits: {
  maxLinesPerOrder: number;
  maxQuantityPerLine: number;
}) {
  return {
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
            sku: { type: 'string', pattern: '^[A-Z0-9-]{1,32}$' },
            quantity: { type: 'integer', minimum: 1, maximum: limits.maxQuantityPerLine },
          },
        },
      },
      paymentMethod: { type: 'string', minLength: 1, maxLength: 64 },
    },
  } as const;
}

export const idempotencyHeadersSchema = {
  type: 'object',
  required: ['idempotency-key'],
  properties: { 'idempotency-key': { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

/** Tells the parent (over IPC) which port the server listens on. */
export function announce(port: number): void {
  process.send?.({ ready: true, port });
}
