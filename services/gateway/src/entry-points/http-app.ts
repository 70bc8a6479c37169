import { fastify, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import type { Client } from '@connectrpc/connect';
import type { InventoryService } from '@orderly/inventory/contract/inventory_service';
import type { OrderService } from '@orderly/order/contract/order_service';
import type { Logger } from '@orderly/platform';
import type { GatewayConfig } from '../config.js';
import { sendError, sendNotFound } from './http-errors.js';
import { registerOrdersRoutes } from './orders-routes.js';
import { registerProductsRoutes } from './products-routes.js';
import { startDeadline, type RequestDeadline } from './request-deadline.js';

export interface HttpAppDeps {
  readonly config: GatewayConfig;
  readonly log: Logger;
  readonly orderClient: Client<typeof OrderService>;
  readonly inventoryClient: Client<typeof InventoryService>;
}

/**
 * The public HTTP/JSON API as a Fastify app that is never `listen`ed: the service runtime owns the
 * server and hands requests to `app.routing`. Validation is strict (no type coercion, unknown
 * properties refused) and every failure leaves as the one error envelope.
 */
export async function buildHttpApp({
  config,
  log,
  orderClient,
  inventoryClient,
}: HttpAppDeps): Promise<FastifyInstance> {
  const app = fastify({
    logger: false,
    bodyLimit: config.bodyLimitBytes,
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    ajv: {
      customOptions: {
        coerceTypes: false,
        removeAdditional: false,
        useDefaults: false,
        allErrors: false,
      },
    },
    frameworkErrors: (error, request, reply) => {
      sendError(log, request, reply, error);
    },
  });

  // Declared up front so every request object has the same shape; set by the onRequest hook.
  app.decorateRequest('deadline', null as unknown as RequestDeadline);
  app.addHook('onRequest', startDeadline(config.requestTimeoutMs));
  app.addHook('onResponse', (request, reply, done) => {
    log.info(
      {
        method: request.method,
        route: request.routeOptions.url ?? 'unmatched',
        status: reply.statusCode,
        duration_ms: Math.round(reply.elapsedTime * 1000) / 1000,
      },
      'request handled',
    );
    done();
  });
  app.setErrorHandler((error, request, reply) => sendError(log, request, reply, error));
  app.setNotFoundHandler((request, reply) =>
    sendNotFound((method, url) => app.findRoute({ method, url }) !== null, request, reply),
  );

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Orderly public API',
        version: '1.0.0',
        description:
          'Place orders and follow their fulfilment. Errors are always {"error":{"code","message"}} with a stable code.',
      },
      tags: [
        { name: 'orders', description: "The customer's orders (scoped by X-Customer-Id)." },
        { name: 'products', description: 'The catalog.' },
      ],
    },
  });

  const limits = config;
  registerProductsRoutes(app, { inventoryClient });
  registerOrdersRoutes(app, { orderClient, limits });
  app.get('/openapi.json', { schema: { hide: true } }, async () => Promise.resolve(app.swagger()));

  await app.ready();
  return app;
}
