import { describe, expect, test } from 'vitest';
import { diffOpenApi, type ContractChange } from './contract-diff.js';

interface DocumentParts {
  request?: Record<string, unknown>;
  response?: Record<string, unknown>;
  parameters?: unknown[];
  extraPaths?: Record<string, unknown>;
}

/** A small OpenAPI 3.1 document: POST /v1/orders with its body behind a $ref, GET /v1/products. */
function aDocument(parts: DocumentParts = {}): object {
  const request = parts.request ?? {
    type: 'object',
    required: ['lines'],
    properties: {
      lines: {
        type: 'array',
        items: {
          type: 'object',
          required: ['sku', 'quantity'],
          properties: { sku: { type: 'string' }, quantity: { type: 'integer' } },
        },
      },
      channel: { type: 'string', enum: ['web', 'store'] },
    },
  };
  const response = parts.response ?? {
    type: 'object',
    required: ['orderId'],
    properties: { orderId: { type: 'string' }, totalCents: { type: 'string' } },
  };
  return {
    openapi: '3.1.0',
    info: { title: 'test', version: '1' },
    paths: {
      '/v1/orders': {
        post: {
          parameters: parts.parameters ?? [],
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: { $ref: '#/components/schemas/PlaceOrder' } },
            },
          },
          responses: {
            '202': {
              description: 'accepted',
              content: { 'application/json': { schema: { $ref: '#/components/schemas/Placed' } } },
            },
          },
        },
      },
      '/v1/products': { get: { responses: { '200': { description: 'the catalog' } } } },
      ...parts.extraPaths,
    },
    components: { schemas: { PlaceOrder: request, Placed: response } },
  };
}

function only(changes: ContractChange[], path: string): ContractChange[] {
  return changes.filter((change) => change.path === path);
}

describe('diffOpenApi', () => {
  test('when nothing changed, then there are no changes and nothing is breaking', () => {
    expect(diffOpenApi(aDocument(), aDocument())).toEqual({
      from: '1',
      to: '1',
      breaking: false,
      changes: [],
    });
  });

  test('when an operation is removed, then it is a breaking removal of the operation', () => {
    const after = aDocument() as { paths: Record<string, unknown> };
    delete after.paths['/v1/products'];
    const diff = diffOpenApi(aDocument(), after, { from: 'v1', to: 'v2' });
    expect(diff).toMatchObject({ from: 'v1', to: 'v2', breaking: true });
    expect(diff.changes).toEqual([
      expect.objectContaining({
        kind: 'removed',
        target: 'operation',
        path: 'GET /v1/products',
        location: 'operation',
        breaking: true,
      }),
    ]);
  });

  test('when an operation is added, then it is reported and not breaking', () => {
    const after = aDocument({
      extraPaths: { '/v2/orders': { post: { responses: { '202': { description: 'ok' } } } } },
    });
    const diff = diffOpenApi(aDocument(), after);
    expect(diff.breaking).toBe(false);
    expect(diff.changes).toEqual([
      expect.objectContaining({ kind: 'added', target: 'operation', path: 'POST /v2/orders' }),
    ]);
  });

  test('when a nested request field changes type behind a $ref, then the field is named and the change is breaking', () => {
    const before = aDocument();
    const after = structuredClone(before) as {
      components: {
        schemas: {
          PlaceOrder: { properties: { lines: { items: { properties: Record<string, unknown> } } } };
        };
      };
    };
    after.components.schemas.PlaceOrder.properties.lines.items.properties.quantity = {
      type: 'string',
    };
    const diff = diffOpenApi(before, after);
    expect(diff.breaking).toBe(true);
    expect(only(diff.changes, 'POST /v1/orders requestBody.lines[].quantity')).toEqual([
      {
        kind: 'changed',
        target: 'field',
        path: 'POST /v1/orders requestBody.lines[].quantity',
        location: 'request',
        breaking: true,
        detail: 'type changed from "integer" to "string"',
      },
    ]);
  });

  test('when a response field changes type, then that is breaking too', () => {
    const after = aDocument({
      response: {
        type: 'object',
        required: ['orderId'],
        properties: { orderId: { type: 'string' }, totalCents: { type: ['string', 'null'] } },
      },
    });
    const changes = only(
      diffOpenApi(aDocument(), after).changes,
      'POST /v1/orders responses.202.totalCents',
    );
    expect(changes).toHaveLength(1);
    expect(changes[0]).toMatchObject({ kind: 'changed', location: 'response', breaking: true });
  });

  test('when a new required request field is added, then it is breaking; an optional one is not', () => {
    const base = aDocument() as {
      components: { schemas: { PlaceOrder: Record<string, unknown> } };
    };
    const withRequired = structuredClone(base);
    const placeOrder = withRequired.components.schemas.PlaceOrder as {
      required: string[];
      properties: Record<string, unknown>;
    };
    placeOrder.required.push('currency');
    placeOrder.properties.currency = { type: 'string' };
    const required = diffOpenApi(base, withRequired);
    expect(required.breaking).toBe(true);
    expect(only(required.changes, 'POST /v1/orders requestBody.currency')).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          target: 'field',
          location: 'request',
          breaking: true,
          detail: 'currency is now required',
        }),
      ]),
    );

    const withOptional = structuredClone(base);
    (
      withOptional.components.schemas.PlaceOrder as { properties: Record<string, unknown> }
    ).properties.note = {
      type: 'string',
    };
    const optional = diffOpenApi(base, withOptional);
    expect(optional.breaking).toBe(false);
    expect(optional.changes).toEqual([
      expect.objectContaining({
        kind: 'added',
        target: 'field',
        path: 'POST /v1/orders requestBody.note',
        breaking: false,
      }),
    ]);
  });

  test('when a response field is removed, then it is breaking; when one is added, it is not', () => {
    const removed = diffOpenApi(
      aDocument(),
      aDocument({
        response: {
          type: 'object',
          required: ['orderId'],
          properties: { orderId: { type: 'string' } },
        },
      }),
    );
    expect(removed.changes).toEqual([
      expect.objectContaining({
        kind: 'removed',
        target: 'field',
        path: 'POST /v1/orders responses.202.totalCents',
        location: 'response',
        breaking: true,
      }),
    ]);

    const added = diffOpenApi(
      aDocument(),
      aDocument({
        response: {
          type: 'object',
          required: ['orderId'],
          properties: {
            orderId: { type: 'string' },
            totalCents: { type: 'string' },
            total: { type: 'object', properties: { amountMinor: { type: 'string' } } },
          },
        },
      }),
    );
    expect(added.breaking).toBe(false);
    expect(added.changes).toEqual([
      expect.objectContaining({
        kind: 'added',
        path: 'POST /v1/orders responses.202.total',
        breaking: false,
      }),
    ]);
  });

  test('when an enum value is removed from a request field, then it is breaking', () => {
    const before = aDocument() as {
      components: { schemas: { PlaceOrder: { properties: { channel: { enum: string[] } } } } };
    };
    const after = structuredClone(before);
    after.components.schemas.PlaceOrder.properties.channel.enum = ['web'];
    const diff = diffOpenApi(before, after);
    expect(diff.changes).toEqual([
      expect.objectContaining({
        kind: 'changed',
        path: 'POST /v1/orders requestBody.channel',
        breaking: true,
        detail: 'enum value "store" removed',
      }),
    ]);
  });

  test('when a required header parameter is added, then it is a breaking header change; an optional one is not', () => {
    const header = (required: boolean) => ({
      name: 'X-Contract-Version',
      in: 'header',
      required,
      schema: { type: 'string' },
    });
    const required = diffOpenApi(aDocument(), aDocument({ parameters: [header(true)] }));
    expect(required.changes).toEqual([
      expect.objectContaining({
        kind: 'added',
        target: 'header',
        path: 'POST /v1/orders parameters.header.X-Contract-Version',
        location: 'request',
        breaking: true,
      }),
    ]);
    expect(diffOpenApi(aDocument(), aDocument({ parameters: [header(false)] })).breaking).toBe(
      false,
    );
  });

  test('when an answer gains an enum value or a response field is no longer required, then it is reported but not breaking', () => {
    const withStatus = (status: string[], required: string[]) =>
      aDocument({
        response: {
          type: 'object',
          required,
          properties: {
            orderId: { type: 'string' },
            totalCents: { type: 'string' },
            status: { type: 'string', enum: status },
          },
        },
      });
    const diff = diffOpenApi(
      withStatus(['PENDING'], ['orderId', 'totalCents']),
      withStatus(['PENDING', 'HELD'], ['orderId']),
    );
    expect(diff.breaking).toBe(false);
    expect(diff.changes).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          path: 'POST /v1/orders responses.202.status',
          detail: 'enum value "HELD" added',
          breaking: false,
        }),
        expect.objectContaining({
          path: 'POST /v1/orders responses.202.totalCents',
          detail: 'totalCents is no longer required',
          breaking: false,
        }),
      ]),
    );
  });

  test('when the same documents are compared again, then the answer is the same and each caller owns its copy', () => {
    const before = aDocument();
    const after = aDocument({
      response: {
        type: 'object',
        required: ['orderId'],
        properties: { orderId: { type: 'string' } },
      },
    });
    const first = diffOpenApi(before, after, { from: '1', to: '2' });
    first.changes.splice(0);
    const second = diffOpenApi(before, after, { from: 'v1', to: 'v2' });
    expect(second).toMatchObject({ from: 'v1', to: 'v2', breaking: true });
    expect(second.changes).toEqual([
      expect.objectContaining({
        path: 'POST /v1/orders responses.202.totalCents',
        kind: 'removed',
      }),
    ]);
  });
});
