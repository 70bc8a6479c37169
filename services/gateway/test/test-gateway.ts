import { randomUUID } from 'node:crypto';
import {
  createServer,
  request as httpRequest,
  type OutgoingHttpHeaders,
  type Server,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { create } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import type { ConnectRouter, ServiceImpl } from '@connectrpc/connect';
import { connectNodeAdapter } from '@connectrpc/connect-node';
import { IdentityService } from '@orderly/identity-contract/identity_service';
import {
  InventoryService,
  ProductSchema,
  type Product,
} from '@orderly/inventory-contract/inventory_service';
import {
  CancellationReason,
  OrderSchema,
  OrderService,
  OrderStatus,
  type Order,
  PlaceOrderRequestSchema,
  type PlaceOrderRequest,
  type SearchOrdersRequest,
} from '@orderly/order-contract/order_service';
import {
  AppError,
  createLogger,
  errorCodeHeader,
  errorMappingInterceptor,
  sheddingHeader,
  toConnectError,
  loadConfigDocument,
  rpcCallerCheck,
  parseServiceConfig,
  type Logger,
  type ServiceConfig,
  type ServiceRuntime,
} from '@orderly/platform';
import {
  startTestService,
  testWorkloadIdentity,
  testWorkloadIdentityConfig,
} from '@orderly/platform/testing';
import { gatewayConfigSchema, gatewayService, type GatewayConfig } from '../src/service.js';
import { customerToken, defaultCustomerToken, fakeIdentityService } from './fake-identity.js';

const quietLog = createLogger({ service: 'fake-upstream', level: 'silent' });

/** Rate limits no functional test reaches; the rate-limit tests set their own. */
export const generousRateLimits = {
  perAddress: { burst: 1_000_000, perMinute: 1_000_000 },
  perUser: { burst: 1_000_000, perMinute: 1_000_000 },
  login: { burst: 1_000_000, perMinute: 1_000_000 },
  loginAccount: { burst: 1_000_000, perMinute: 1_000_000 },
};

/** Gateway config for tests: defaults from config/default.yaml, port 0, quiet logs, then `service`. */
export function gatewayTestConfig(
  service: Partial<Record<keyof GatewayConfig, unknown>> = {},
  platform: Record<string, unknown> = {},
): ServiceConfig<GatewayConfig> {
  const document = loadConfigDocument({
    argv: [],
    env: {},
    overrides: {
      logLevel: 'silent',
      // Rate-limit buckets in memory: no NATS for the gateway's own tests (unless `platform` says so).
      bus: { kind: 'memory' },
      ...testWorkloadIdentityConfig,
      ...platform,
      services: {
        gateway: { port: 0, operatorPort: 0, rateLimits: generousRateLimits, ...service },
      },
    },
  });
  return parseServiceConfig(document, 'gateway', gatewayConfigSchema);
}

/**
 * A real Connect server on port 0 serving fake behaviour, with the platform's error mapping and /healthz.
 * As `callee` it checks callers like the real service: a service token for it from a workload its
 * shipped `rpcCallers` (config/default.yaml) allow.
 */
export async function startUpstream(
  register: (router: ConnectRouter) => void,
  callee?: string,
): Promise<{ url: string; close(): Promise<void> }> {
  const callerCheck = callee
    ? [rpcCallerCheck(await testWorkloadIdentity(callee), () => shippedRpcCallers(callee))]
    : [];
  const connect = connectNodeAdapter({
    routes: register,
    interceptors: [errorMappingInterceptor(quietLog), ...callerCheck],
  });
  // Like a real service runtime: /healthz beside the Connect routes.
  const server: Server = createServer((req, res) => {
    if (req.url === '/healthz')
      return void res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
    connect(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function shippedRpcCallers(service: string): Record<string, string[]> {
  const services = loadConfigDocument({ argv: [], env: {} }).document.services as Record<
    string,
    { rpcCallers?: Record<string, string[]> }
  >;
  return services[service]?.rpcCallers ?? {};
}

/** A URL where nothing listens. */
export async function deadUrl(): Promise<string> {
  const upstream = await startUpstream(() => undefined);
  await upstream.close();
  return upstream.url;
}

/** An in-memory order service with the contract's idempotency and customer scoping. */
export function fakeOrderService(overrides: Partial<ServiceImpl<typeof OrderService>> = {}) {
  const orders = new Map<string, Order>();
  const byKey = new Map<string, { fingerprint: string; orderId: string }>();
  const calls = {
    placeOrder: [] as PlaceOrderRequest[],
    /** The number of orders in each PlaceOrders call. */
    placeOrders: [] as number[],
    getOrder: 0,
    listOrders: [] as number[],
    cancelOrder: [] as { orderId: string; customerId: string; idempotencyKey: string }[],
    searchOrders: [] as SearchOrdersRequest[],
  };
  const notFound = (orderId: string) =>
    new AppError('ORDER_NOT_FOUND', `order ${orderId} does not exist`, { kind: 'not-found' });
  /** Newest first; a cursor is the index of the next order (the real service uses keyset positions). */
  const page = (list: Order[], limit: number, cursor: string) => {
    if (cursor !== '' && !/^[0-9]+$/.test(cursor))
      throw new AppError('CURSOR_INVALID', 'the cursor is not one this list gave out', {
        kind: 'invalid',
      });
    const from = cursor === '' ? 0 : Number(cursor);
    const end = from + limit;
    return {
      orders: list.slice(from, end),
      nextCursor: end < list.length ? String(end) : '',
    };
  };
  const impl: ServiceImpl<typeof OrderService> = {
    placeOrder(request) {
      calls.placeOrder.push(request);
      const key = `${request.customerId}/${request.idempotencyKey}`;
      const fingerprint = JSON.stringify([
        request.lines.map((l) => [l.sku, l.quantity]),
        request.paymentMethod,
      ]);
      const previous = byKey.get(key);
      if (previous) {
        if (previous.fingerprint !== fingerprint) {
          throw new AppError(
            'ORDER_IDEMPOTENCY_KEY_REUSED',
            'the idempotency key was used for another order',
            {
              kind: 'conflict',
            },
          );
        }
        return { order: orders.get(previous.orderId), replayed: true };
      }
      const now = timestampFromDate(new Date());
      const order = create(OrderSchema, {
        orderId: randomUUID(),
        customerId: request.customerId,
        status: OrderStatus.PENDING,
        lines: request.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: 0n })),
        totalCents: 0n,
        paymentMethod: request.paymentMethod,
        placedAt: now,
        history: [{ status: OrderStatus.PENDING, at: now }],
      });
      orders.set(order.orderId, order);
      byKey.set(key, { fingerprint, orderId: order.orderId });
      return { order, replayed: false };
    },
    getOrder(request) {
      calls.getOrder++;
      const order = orders.get(request.orderId);
      if (!order || (request.customerId && order.customerId !== request.customerId)) {
        throw notFound(request.orderId);
      }
      return { order };
    },
    getOrderForOperator(request) {
      const order = orders.get(request.orderId);
      if (!order) {
        throw new AppError('ORDER_NOT_FOUND', `order ${request.orderId} does not exist`, {
          kind: 'not-found',
        });
      }
      return { order };
    },
    listOrders(request) {
      calls.listOrders.push(request.limit);
      const mine = [...orders.values()]
        .filter((o) => o.customerId === request.customerId)
        .reverse();
      return page(mine, request.limit, request.cursor);
    },
    cancelOrder(request) {
      calls.cancelOrder.push({ ...request });
      const order = orders.get(request.orderId);
      if (!order || order.customerId !== request.customerId) throw notFound(request.orderId);
      if (order.status === OrderStatus.CANCELLED) return { order, replayed: true };
      const cancelled = create(OrderSchema, {
        orderId: order.orderId,
        customerId: order.customerId,
        status: OrderStatus.CANCELLED,
        lines: order.lines,
        totalCents: order.totalCents,
        paymentMethod: order.paymentMethod,
        placedAt: order.placedAt,
        cancellationReason: CancellationReason.CUSTOMER_REQUESTED,
        history: [
          ...order.history.map(({ status, at }) => ({ status, at })),
          { status: OrderStatus.CANCELLED, at: timestampFromDate(new Date()) },
        ],
      });
      orders.set(order.orderId, cancelled);
      return { order: cancelled, replayed: false };
    },
    searchOrders(request) {
      calls.searchOrders.push(request);
      const matching = [...orders.values()]
        .filter(
          (o) =>
            (request.status === OrderStatus.UNSPECIFIED || o.status === request.status) &&
            (request.customerId === '' || o.customerId === request.customerId),
        )
        .reverse();
      return page(matching, request.limit, request.cursor);
    },
    // Filled in below from placeOrder (overridden or not), as the real service does.
    placeOrders: () => ({ results: [] }),
    ...overrides,
  };
  if (!overrides.placeOrders) impl.placeOrders = placeOrdersOneByOne(impl, calls.placeOrders);
  return { impl, orders, calls };
}

/** PlaceOrders as the order service answers it: each order placed as PlaceOrder would, errors per order. */
function placeOrdersOneByOne(
  impl: ServiceImpl<typeof OrderService>,
  sizes: number[],
): ServiceImpl<typeof OrderService>['placeOrders'] {
  const log = quietLog;
  return async (request, context) => {
    sizes.push(request.orders.length);
    return {
      results: await Promise.all(
        request.orders.map(async (item) => {
          try {
            const placed = await impl.placeOrder(
              item.order ?? create(PlaceOrderRequestSchema),
              context,
            );
            return { outcome: { case: 'placed' as const, value: placed } };
          } catch (error) {
            const answer = toConnectError(error, 'order.v1.OrderService/PlaceOrders', log);
            return {
              outcome: {
                case: 'error' as const,
                value: {
                  connectCode: answer.code,
                  errorCode: answer.metadata.get(errorCodeHeader) ?? '',
                  message: answer.rawMessage,
                  shedding: answer.metadata.get(sheddingHeader) === '1',
                },
              },
            };
          }
        }),
      ),
    };
  };
}

export const demoProducts = [
  create(ProductSchema, {
    sku: 'SKU-1',
    name: 'Blue mug',
    priceCents: 1250n,
    available: 10,
    reserved: 2,
  }),
  create(ProductSchema, {
    sku: 'SKU-2',
    name: 'Red kettle',
    priceCents: 4999n,
    available: 0,
    reserved: 0,
  }),
];

/** The catalog behind the gateway: the demo products for reads, an in-memory store for admin writes. */
export function fakeInventoryService(
  overrides: Partial<ServiceImpl<typeof InventoryService>> = {},
) {
  const products = new Map<string, Product>();
  const calls = { upsertProduct: 0, adjustStock: 0 };
  const impl: ServiceImpl<typeof InventoryService> = {
    listProducts: () => ({ products: demoProducts }),
    upsertProduct(request) {
      calls.upsertProduct++;
      const existing = products.get(request.sku);
      const product = create(ProductSchema, {
        sku: request.sku,
        name: request.name,
        priceCents: request.priceCents,
        available: existing?.available ?? 0,
        reserved: 0,
      });
      products.set(product.sku, product);
      return { product };
    },
    adjustStock(request) {
      calls.adjustStock++;
      const product = products.get(request.sku);
      if (!product) {
        throw new AppError('INVENTORY_UNKNOWN_SKU', `product ${request.sku} does not exist`, {
          kind: 'not-found',
        });
      }
      if (product.available + request.delta < 0) {
        throw new AppError('INVENTORY_STOCK_WOULD_GO_NEGATIVE', 'negative', { kind: 'conflict' });
      }
      const updated = create(ProductSchema, {
        ...product,
        available: product.available + request.delta,
      });
      products.set(updated.sku, updated);
      return { product: updated };
    },
    ...overrides,
  };
  return { impl, products, calls };
}

/** Log lines written by the gateway, parsed. */
export function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  return { log: createLogger({ service: 'gateway', level: 'info', destination }), lines };
}

export interface TestGateway {
  readonly url: string;
  readonly runtime: ServiceRuntime;
  readonly orders: ReturnType<typeof fakeOrderService>;
  readonly inventory: ReturnType<typeof fakeInventoryService>;
  readonly identity: ReturnType<typeof fakeIdentityService>;
  stop(): Promise<void>;
}

/** The gateway started on port 0, calling fake order and inventory services over real Connect RPC. */
export async function startTestGateway(
  options: {
    service?: Partial<Record<keyof GatewayConfig, unknown>>;
    /** Platform keys (e.g. `bus`) over the test defaults. */
    platform?: Record<string, unknown>;
    order?: Partial<ServiceImpl<typeof OrderService>>;
    inventory?: Partial<ServiceImpl<typeof InventoryService>>;
    identity?: Partial<ServiceImpl<typeof IdentityService>>;
    log?: Logger;
  } = {},
): Promise<TestGateway> {
  const orders = fakeOrderService(options.order);
  const inventory = fakeInventoryService(options.inventory);
  // Each fake checks the gateway's service token and allowlist as the real service would.
  const orderUpstream = await startUpstream(
    (router) => router.service(OrderService, orders.impl),
    'order',
  );
  const inventoryUpstream = await startUpstream(
    (router) => router.service(InventoryService, inventory.impl),
    'inventory',
  );
  const identity = fakeIdentityService(options.identity);
  const identityUpstream = await startUpstream(
    (router) => router.service(IdentityService, identity.impl),
    'identity',
  );
  const config = gatewayTestConfig(
    {
      orderServiceUrl: orderUpstream.url,
      inventoryServiceUrl: inventoryUpstream.url,
      identityServiceUrl: identityUpstream.url,
      ...options.service,
    },
    options.platform,
  );
  const { runtime, url } = await startTestService(gatewayService, {
    config,
    ...(options.log ? { log: options.log } : {}),
  });
  return {
    url,
    runtime,
    orders,
    inventory,
    identity,
    stop: async () => {
      await runtime.stop();
      await orderUpstream.close();
      await inventoryUpstream.close();
      await identityUpstream.close();
    },
  };
}

export interface RawResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  json(): unknown;
}

/** A request with byte-level control over headers and body (fetch refuses some of what we test). */
export function send(
  baseUrl: string,
  init: { method?: string; path: string; headers?: OutgoingHttpHeaders; body?: string | Buffer },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(baseUrl);
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        method: init.method ?? 'GET',
        path: init.path,
        headers: init.headers,
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as unknown,
          });
        });
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (init.body !== undefined) req.write(init.body);
    req.end();
  });
}

export const validBody = { lines: [{ sku: 'SKU-1', quantity: 2 }], paymentMethod: 'pm_card_ok' };

export function orderHeaders(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    'content-type': 'application/json',
    'idempotency-key': `key-${randomUUID()}`,
    authorization: `Bearer ${defaultCustomerToken}`,
    ...overrides,
  };
}

export async function postOrder(
  baseUrl: string,
  body: unknown = validBody,
  headers: Record<string, string> = orderHeaders(),
): Promise<RawResponse> {
  return send(baseUrl, { method: 'POST', path: '/v1/orders', headers, body: JSON.stringify(body) });
}

/** `Authorization: Bearer <token>` as a headers object. */
export const bearer = (token: string): Record<string, string> => ({
  authorization: `Bearer ${token}`,
});

/** Headers that authenticate as customer `sub` (a token signed by the fake identity's key). */
export async function asCustomer(sub: string): Promise<Record<string, string>> {
  return bearer(await customerToken(sub));
}
