import { fastify, type FastifyInstance } from 'fastify';
import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import type { Client } from '@connectrpc/connect';
import type { IdentityService } from '@orderly/identity-contract/identity_service';
import type { RiskService } from '@orderly/risk-contract/risk_service';
import type { InventoryService } from '@orderly/inventory-contract/inventory_service';
import type { OrderService } from '@orderly/order-contract/order_service';
import type { Flags, Logger, Telemetry } from '@orderly/platform';
import type { GatewayConfig } from '../../config.js';
import type { AccessTokenVerifier } from '../auth/access-token-verifier.js';
import { registerAdminRoutes } from '../admin/admin-routes.js';
import { registerRiskReviewRoutes } from '../risk/risk-review-routes.js';
import { registerAuthRoutes } from '../auth/auth-routes.js';
import { registerConsoleRoutes } from '../console/console-routes.js';
import type { FlagHistory } from '../console/flag-history.js';
import type { OperatorPorts } from '../console/operator-ports.js';
import { registerWebRoutes } from '../web/web-routes.js';
import { registerContractDocuments } from './contract-openapi.js';
import {
  ContractCallers,
  registerContractHooks,
  registerContractLifecycle,
  type DefaultVersionFlag,
  type Lifecycle,
  type RouteLifecycle,
} from './contract-versions.js';
import { sendError, sendNotFound } from './http-errors.js';
import { routeKeyOf } from './public-routes.js';
import { OrderIntakeBatcher } from '../orders/order-intake-batcher.js';
import { registerOrdersRoutes } from '../orders/orders-routes.js';
import { registerProductsRoutes } from '../products/products-routes.js';
import { processTokenBuckets, type TokenBuckets } from './rate-limiter.js';
import { startDeadline, type RequestDeadline } from './request-deadline.js';
import { registerRequestSecurity } from './request-security.js';
import { orderServiceAdmission, type UpstreamAdmission } from './upstream-admission.js';

export interface HttpAppDeps {
  readonly config: GatewayConfig;
  readonly log: Logger;
  readonly telemetry: Telemetry;
  readonly orderClient: Client<typeof OrderService>;
  readonly inventoryClient: Client<typeof InventoryService>;
  readonly identityClient: Client<typeof IdentityService>;
  /** The risk service's review queue (/v1/admin/risk/reviews). */
  readonly riskClient: Client<typeof RiskService>;
  readonly verifier: AccessTokenVerifier;
  /** Injected by tests that need a clock; otherwise real time. */
  readonly buckets?: TokenBuckets;
  /** Load shedding in front of the order service; shared across app rebuilds. */
  readonly orderAdmission?: UpstreamAdmission;
  /** Gathers concurrent PlaceOrder calls into PlaceOrders batches; shared across app rebuilds. */
  readonly orderIntake?: OrderIntakeBatcher;
  /** Runtime decisions (e.g. `order-max-lines`). */
  readonly flags?: Flags;
  /** The services' operator ports, for the console's routes; without it they answer 503. */
  readonly operatorPorts?: OperatorPorts;
  /** Flag changes seen since start (the console's audit trail); shared across app rebuilds. */
  readonly flagHistory?: FlagHistory;
  /** Callers of deprecated and retired contract versions; shared across app rebuilds. */
  readonly contractCallers?: ContractCallers;
  /** The flag contract-default-version, kept current; without it configuration decides. */
  readonly contractDefaultFlag?: Pick<DefaultVersionFlag, 'current'>;
  /** Counts calls of versioned routes by version and lifecycle (orderly.contract.calls). */
  readonly countContractCall?: (version: string, lifecycle: Lifecycle) => void;
  /** Counts calls of deprecated and retired routes (orderly.contract.route_calls). */
  readonly countRouteCall?: (route: string, lifecycle: RouteLifecycle) => void;
}

/**
 * The public HTTP/JSON API as a Fastify app that is never `listen`ed: the service runtime owns the
 * server and hands requests to `app.routing`. Validation is strict (no type coercion, unknown
 * properties refused) and every failure leaves as the one error envelope.
 */
export async function buildHttpApp({
  config,
  log,
  telemetry,
  orderClient,
  inventoryClient,
  identityClient,
  riskClient,
  verifier,
  buckets = processTokenBuckets(config.rateLimits),
  orderAdmission = orderServiceAdmission(() => config),
  orderIntake = new OrderIntakeBatcher(orderClient, () => config.orderIntakeBatch),
  flags,
  operatorPorts,
  flagHistory,
  contractCallers = new ContractCallers(() => config.contract.callersKept),
  contractDefaultFlag,
  countContractCall,
  countRouteCall,
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
  // The matched route names the request's span and metrics (`/v1/orders/:orderId`, not the URL).
  app.addHook('onRequest', (request, _reply, done) => {
    telemetry.nameHttpRoute(request.raw, request.routeOptions.url ?? 'unmatched');
    done();
  });
  app.addHook('onRequest', startDeadline(config.requestTimeoutMs));
  const contract = {
    config: config.contract,
    defaultFlag: contractDefaultFlag,
    callers: contractCallers,
    log,
    countCall: countContractCall,
    countRouteCall,
  };
  // Before CORS and security: every answer, a refusal included, says the version it was served in.
  registerContractHooks(app, contract);
  // Before the security hooks: a preflight (OPTIONS) is answered here, without a token. An origin
  // not listed gets no Access-Control-* headers, so the browser refuses the response.
  await app.register(cors, {
    origin: config.cors.allowedOrigins.length > 0 ? [...config.cors.allowedOrigins] : false,
    methods: ['GET', 'POST'],
    allowedHeaders: ['authorization', 'content-type', 'idempotency-key', 'x-contract-version'],
    exposedHeaders: [
      'idempotent-replayed',
      'ratelimit',
      'ratelimit-policy',
      'retry-after',
      'x-contract-version',
      'deprecation',
      'sunset',
      'link',
    ],
    maxAge: config.cors.maxAgeSeconds,
    strictPreflight: true,
  });
  registerRequestSecurity(app, { verifier, buckets, limits: config.rateLimits });
  // After security: a caller of an old version is known by its token's subject when it has one.
  registerContractLifecycle(app, contract);
  app.addHook('onResponse', (request, reply, done) => {
    log.info(
      {
        'http.method': request.method,
        'http.route': request.routeOptions.url ?? 'unmatched',
        'http.status_code': reply.statusCode,
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
        // No open-source licence has been chosen: the API is the project's own, all rights reserved.
        license: { name: 'Proprietary', identifier: 'LicenseRef-Orderly-Proprietary' },
      },
      // Relative: the gateway answers wherever it is reached (its host and port, or behind an ingress).
      servers: [{ url: '/', description: 'The gateway that served this document.' }],
      tags: [
        { name: 'auth', description: 'Accounts, tokens and the keys that verify them.' },
        {
          name: 'orders',
          description: "The customer's orders: the customer is the access token's subject.",
        },
        { name: 'products', description: 'The catalog.' },
        {
          name: 'admin',
          description: 'Order search, catalog, stock and signing keys (admin role).',
        },
        {
          name: 'console',
          description:
            'What the operator console at /console reads: health, timelines, dead letters, flags (admin role).',
        },
      ],
      components: {
        securitySchemes: {
          bearerAuth: {
            type: 'http',
            scheme: 'bearer',
            bearerFormat: 'JWT',
            description:
              'An ES256 access token from POST /v1/auth/login (or /v1/auth/refresh), verified ' +
              'against /.well-known/jwks.json. Missing or invalid: 401 with WWW-Authenticate.',
          },
        },
      },
      security: [{ bearerAuth: [] }],
    },
  });

  // A route deprecated or retired in `contract.routes` says so in the OpenAPI documents.
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    if (methods.some((method) => config.contract.routes[routeKeyOf(method, route.url)]))
      route.schema = { ...route.schema, deprecated: true };
  });
  const limits = config;
  registerProductsRoutes(app, { inventoryClient, limits });
  registerOrdersRoutes(app, {
    orderClient,
    orderIntake,
    orderAdmission,
    limits,
    telemetry,
    flags,
  });
  registerAuthRoutes(app, { identityClient, verifier, buckets, config });
  registerAdminRoutes(app, {
    inventoryClient,
    identityClient,
    orderClient,
    orderAdmission,
    limits,
    onKeysRotated: () => verifier.refresh(),
  });
  registerRiskReviewRoutes(app, { riskClient });
  if (operatorPorts)
    registerConsoleRoutes(app, { config, orderClient, operatorPorts, flags, flagHistory });
  registerWebRoutes(app);
  registerContractDocuments(app, config.contract);

  await app.ready();
  return app;
}
