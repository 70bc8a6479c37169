import { bearerSecurity, errorResponses } from '../http/json-schemas.js';

/** JSON schemas of the operator console's routes (/v1/admin/..., admin role only). */

const consoleErrors = [400, 401, 403, 429, 500, 503, 504];

const figures = {
  type: 'object',
  additionalProperties: {
    anyOf: [{ type: 'number' }, { type: 'object', additionalProperties: { type: 'number' } }],
  },
} as const;

const serviceState = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'ready'],
  properties: {
    name: { type: 'string' },
    ready: { type: 'boolean', description: 'Its /readyz answered 200.' },
    status: { type: 'string', description: "/readyz's status (ready, not ready, stopping)." },
    checks: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'Each readiness check: ok, or why not.',
    },
    flagsHash: { type: 'string', description: 'The feature-flag definitions it runs.' },
    outboxBacklog: {
      type: 'integer',
      description: 'Outbox rows not yet published (absent: no outbox, or not reported).',
    },
    consumerLag: {
      type: 'object',
      additionalProperties: { type: 'integer' },
      description: 'Messages pending or in flight, by subscription.',
    },
    unavailable: { type: 'string', description: 'Why the figures could not be read.' },
  },
} as const;

export const systemOverviewSchema = {
  operationId: 'getSystemOverview',
  summary: 'Every service’s health, backlog and lag, and the order mix (admin console)',
  tags: ['console'],
  security: bearerSecurity,
  response: {
    200: {
      description: 'The system as the services report it now.',
      type: 'object',
      additionalProperties: false,
      required: ['at', 'refreshIntervalMs', 'services', 'orders'],
      properties: {
        at: { type: 'string', format: 'date-time' },
        refreshIntervalMs: {
          type: 'integer',
          description: 'How often the console reads this again (services.gateway.console).',
        },
        services: { type: 'array', items: serviceState },
        orders: {
          description:
            'The order service’s summary: ordersByStatus (placed in the last ordersWindowMinutes), ' +
            'ordersPlacedLastMinute, openSagas. Empty when it cannot be read.',
          ...figures,
        },
      },
    },
    ...errorResponses(consoleErrors),
  },
};

const timelineEntry = {
  type: 'object',
  additionalProperties: false,
  required: ['at', 'service', 'what'],
  properties: {
    at: { type: 'string', format: 'date-time' },
    service: { type: 'string' },
    what: { type: 'string' },
  },
} as const;

const orderParams = {
  type: 'object',
  required: ['orderId'],
  properties: { orderId: { type: 'string', minLength: 1, maxLength: 128 } },
} as const;

export const anyOrderSchema = {
  operationId: 'getAnyOrder',
  summary: 'Any customer’s order (admin console)',
  description: 'An unknown id is 404 ORDER_NOT_FOUND.',
  tags: ['console'],
  security: bearerSecurity,
  params: orderParams,
  response: {
    200: {
      description: 'The order as it is now, with its customer.',
      type: 'object',
      additionalProperties: false,
      required: ['orderId', 'customerId', 'status', 'totalCents', 'placedAt', 'lines', 'history'],
      properties: {
        orderId: { type: 'string' },
        customerId: { type: 'string' },
        status: { type: 'string' },
        cancellationReason: { type: 'string' },
        totalCents: { type: 'integer' },
        paymentMethod: { type: 'string' },
        placedAt: { type: 'string', format: 'date-time' },
        lines: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['sku', 'quantity', 'unitPriceCents'],
            properties: {
              sku: { type: 'string' },
              quantity: { type: 'integer' },
              unitPriceCents: { type: 'integer' },
            },
          },
        },
        history: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['status', 'at'],
            properties: {
              status: { type: 'string' },
              at: { type: 'string', format: 'date-time' },
            },
          },
        },
      },
    },
    ...errorResponses([404, ...consoleErrors]),
  },
};

export const orderTimelineSchema = {
  operationId: 'getOrderTimeline',
  summary: 'What each service did about an order, oldest first (admin console)',
  description:
    'The data `orderly trace` shows, read from each service’s own data through its operator port. ' +
    'An id no service knows answers an empty timeline.',
  tags: ['console'],
  security: bearerSecurity,
  params: orderParams,
  response: {
    200: {
      description: 'Every service’s entries about the order, oldest first.',
      type: 'object',
      additionalProperties: false,
      required: ['timeline', 'unavailable'],
      properties: {
        timeline: { type: 'array', items: timelineEntry },
        unavailable: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'Services whose part could not be read, with why.',
        },
      },
    },
    ...errorResponses(consoleErrors),
  },
};

const deadLetter = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'subscription', 'subject', 'eventId', 'attempts', 'failedAt', 'error'],
  properties: {
    id: { type: 'string' },
    subscription: { type: 'string' },
    subject: { type: 'string' },
    eventId: { type: 'string' },
    attempts: { type: 'integer' },
    failedAt: { type: 'string', format: 'date-time' },
    error: { type: 'string', description: 'Why its last delivery failed.' },
  },
} as const;

export const listDeadLettersSchema = {
  operationId: 'listDeadLetters',
  summary: 'Messages that failed every delivery, with their error (admin console)',
  tags: ['console'],
  security: bearerSecurity,
  response: {
    200: {
      description: 'Every dead letter, oldest first.',
      type: 'object',
      additionalProperties: false,
      required: ['deadLetters'],
      properties: { deadLetters: { type: 'array', items: deadLetter } },
    },
    ...errorResponses(consoleErrors),
  },
};

export const redriveDeadLettersSchema = {
  operationId: 'redriveDeadLetters',
  summary: 'Deliver dead letters to their subscription again (admin console)',
  tags: ['console'],
  security: bearerSecurity,
  body: {
    type: 'object',
    additionalProperties: false,
    required: ['ids'],
    properties: {
      ids: {
        type: 'array',
        minItems: 1,
        maxItems: 1000,
        uniqueItems: true,
        items: { type: 'string', minLength: 1, maxLength: 200 },
        description: 'The dead letters to redrive (their id).',
      },
    },
  },
  response: {
    200: {
      description: 'How many were delivered again (an id that is gone counts for nothing).',
      type: 'object',
      additionalProperties: false,
      required: ['redriven'],
      properties: { redriven: { type: 'integer' } },
    },
    ...errorResponses([413, 415, ...consoleErrors]),
  },
};

export const listFlagsSchema = {
  operationId: 'listFeatureFlags',
  summary: 'Feature flags with their current value and the changes seen (admin console)',
  tags: ['console'],
  security: bearerSecurity,
  response: {
    200: {
      description:
        'The flag definitions in effect in the gateway (flags.file) and the changes it saw since it started.',
      type: 'object',
      additionalProperties: false,
      required: ['hash', 'flags', 'changes'],
      properties: {
        hash: { type: 'string', description: 'First 16 hex digits of the file’s sha256.' },
        error: { type: 'string', description: 'Why the file could not be (re)loaded.' },
        flags: {
          type: 'array',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['key', 'enabled', 'defaultVariant', 'value', 'variants', 'targeted'],
            properties: {
              key: { type: 'string' },
              enabled: { type: 'boolean' },
              defaultVariant: { type: 'string' },
              value: {
                anyOf: [{ type: 'boolean' }, { type: 'number' }, { type: 'string' }],
                description: 'What an evaluation without targeting answers now.',
              },
              variants: {
                type: 'object',
                additionalProperties: {
                  anyOf: [{ type: 'boolean' }, { type: 'number' }, { type: 'string' }],
                },
              },
              targeted: {
                type: 'boolean',
                description: 'Rules choose another variant for some contexts (customers, regions).',
              },
            },
          },
        },
        changes: {
          type: 'array',
          description: 'Newest first; at most services.gateway.console.flagChangesKept.',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['at', 'hash', 'flagsChanged'],
            properties: {
              at: { type: 'string', format: 'date-time' },
              hash: { type: 'string' },
              flagsChanged: { type: 'array', items: { type: 'string' } },
            },
          },
        },
      },
    },
    ...errorResponses(consoleErrors),
  },
};
