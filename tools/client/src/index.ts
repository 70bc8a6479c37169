import createClient, { type Client, type ClientOptions, type Middleware } from 'openapi-fetch';
import type { components, operations, paths } from '../gen/schema.js';

/**
 * The typed client of Orderly's public HTTP API: `openapi-fetch` over the types `openapi-typescript`
 * generates from the gateway's OpenAPI document (tools/client/gen/openapi.json, written by
 * `npm run generate`). A route or field the API drops or renames fails the build of every user.
 *
 *   const api = orderlyClient({ baseUrl: 'http://127.0.0.1:8080', token: () => accessToken });
 *   const { data, error } = await api.GET('/v1/orders/{orderId}', { params: { path: { orderId } } });
 */
export type { components, operations, paths };
export type OrderlyClient = Client<paths>;

export interface OrderlyClientOptions extends ClientOptions {
  /** The access token sent as `Authorization: Bearer …` with every request, when there is one. */
  readonly token?: () => string | undefined;
}

export function orderlyClient(options: OrderlyClientOptions = {}): OrderlyClient {
  const { token, ...clientOptions } = options;
  const client = createClient<paths>(clientOptions);
  if (token) client.use(bearerToken(token));
  return client;
}

function bearerToken(token: () => string | undefined): Middleware {
  return {
    onRequest({ request }) {
      const value = token();
      if (value !== undefined && !request.headers.has('authorization'))
        request.headers.set('authorization', `Bearer ${value}`);
      return request;
    },
  };
}

/** The stable code and message of an error answer, or of a failure that produced no answer. */
export function describeError(error: unknown): { code: string; message: string } {
  const envelope = (error as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  if (typeof envelope?.code === 'string')
    return {
      code: envelope.code,
      message: typeof envelope.message === 'string' ? envelope.message : '',
    };
  return { code: 'NETWORK_ERROR', message: error instanceof Error ? error.message : String(error) };
}
