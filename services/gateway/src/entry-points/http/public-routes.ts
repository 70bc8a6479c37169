/**
 * The public API's routes as `METHOD /path/{param}` (the OpenAPI spelling): the keys
 * `contract.routes` may name (a route's lifecycle, docs/contracts.md). The configuration is
 * validated before the HTTP app is built, so the list is kept here; a test holds it equal to the
 * routes the app registers under /v1/ and /.well-known/.
 */
export const publicRouteKeys: readonly string[] = [
  'GET /.well-known/jwks.json',
  'GET /v1/admin/dead-letters',
  'POST /v1/admin/dead-letters/redrive',
  'GET /v1/admin/flags',
  'POST /v1/admin/keys/rotate',
  'GET /v1/admin/orders',
  'GET /v1/admin/orders/{orderId}',
  'GET /v1/admin/orders/{orderId}/timeline',
  'POST /v1/admin/products',
  'GET /v1/admin/risk/reviews',
  'POST /v1/admin/risk/reviews/{orderId}/approve',
  'POST /v1/admin/risk/reviews/{orderId}/reject',
  'POST /v1/admin/stock',
  'GET /v1/admin/system',
  'POST /v1/auth/login',
  'POST /v1/auth/logout',
  'POST /v1/auth/refresh',
  'POST /v1/auth/register',
  'GET /v1/orders',
  'POST /v1/orders',
  'GET /v1/orders/{orderId}',
  'POST /v1/orders/{orderId}/cancel',
  'GET /v1/products',
];

/** Fastify's `/v1/orders/:orderId` as the key spelling `/v1/orders/{orderId}`. */
export const routeKeyOf = (method: string, url: string): string =>
  `${method} ${url.replace(/:([A-Za-z0-9_]+)/g, '{$1}')}`;

/** Routes the lifecycle applies to: the API, not the documents and pages. */
export const isPublicRoute = (url: string): boolean =>
  url.startsWith('/v1/') || url.startsWith('/.well-known/');
