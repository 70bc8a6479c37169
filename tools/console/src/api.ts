import { describeError, orderlyClient, type paths } from '@orderly/client';

/**
 * The console's one way to the gateway: the typed client (@orderly/client) on the same origin, with
 * the admin's access token. The token lives in this tab's sessionStorage only; it is never shown.
 */
const tokenKey = 'orderly-console-token';

export function storedToken(): string | undefined {
  return sessionStorage.getItem(tokenKey) ?? undefined;
}

export function storeToken(token: string | undefined): void {
  if (token === undefined) sessionStorage.removeItem(tokenKey);
  else sessionStorage.setItem(tokenKey, token);
}

export const api = orderlyClient({ baseUrl: window.location.origin, token: storedToken });

/** An answer the console shows as it is: the API's stable code and its message. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let onSignedOut: (failure: ApiFailure) => void = () => undefined;
/** Called when the gateway refuses the token (401) or the role (403): back to the login page. */
export function whenSignedOut(listener: (failure: ApiFailure) => void): void {
  onSignedOut = listener;
}

/** The data of an answer, or an ApiFailure with the API's code and message. */
export async function unwrap<T>(
  call: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<T> {
  let result: { data?: T; error?: unknown; response: Response };
  try {
    result = await call;
  } catch (error) {
    const { code, message } = describeError(error);
    throw new ApiFailure(0, code, message);
  }
  if (result.data !== undefined && result.response.ok) return result.data;
  const { code, message } = describeError(result.error);
  const failure = new ApiFailure(result.response.status, code, message);
  if (result.response.status === 401 || result.response.status === 403) onSignedOut(failure);
  throw failure;
}

export type SystemOverview =
  paths['/v1/admin/system']['get']['responses'][200]['content']['application/json'];
export type OrderTimeline =
  paths['/v1/admin/orders/{orderId}/timeline']['get']['responses'][200]['content']['application/json'];
export type AnyOrder =
  paths['/v1/admin/orders/{orderId}']['get']['responses'][200]['content']['application/json'];
export type OrderPage =
  paths['/v1/admin/orders']['get']['responses'][200]['content']['application/json'];
export type OrderSearch = NonNullable<paths['/v1/admin/orders']['get']['parameters']['query']>;
export type DeadLetters =
  paths['/v1/admin/dead-letters']['get']['responses'][200]['content']['application/json'];
export type FeatureFlags =
  paths['/v1/admin/flags']['get']['responses'][200]['content']['application/json'];
export type Jwks =
  paths['/.well-known/jwks.json']['get']['responses'][200]['content']['application/json'];
export type KeyRotation =
  paths['/v1/admin/keys/rotate']['post']['responses'][200]['content']['application/json'];
