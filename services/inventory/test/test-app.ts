import { randomBytes, randomUUID } from 'node:crypto';
import { Writable } from 'node:stream';
import type { Client } from '@connectrpc/connect';
import {
  MemoryBus,
  createLogger,
  createRpcClient,
  newEvent,
  busHeaders,
  type BusMessage,
  type ServiceRuntime,
} from '@orderly/platform';
import {
  recordEvents,
  startTestService,
  testServiceConfig,
  testCaller,
} from '@orderly/platform/testing';
import {
  OrderCancelledSchema,
  OrderConfirmedSchema,
  OrderPlacedSchema,
} from '@orderly/order-contract/order_events';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory-contract/inventory_events';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { inventoryConfigSchema, inventoryService } from '../src/service.js';

export type InventoryClient = Client<typeof InventoryService>;

export interface TestApp {
  readonly runtime: ServiceRuntime;
  readonly bus: MemoryBus;
  readonly client: InventoryClient;
  readonly recorder: Awaited<ReturnType<typeof recordEvents>>;
  /** Every log line the service wrote, parsed. */
  readonly logLines: Record<string, unknown>[];
  readonly config: ReturnType<typeof inventoryTestConfig>;
  stop(): Promise<void>;
}

export function inventoryTestConfig(service: Record<string, unknown> = {}) {
  return testServiceConfig('inventory', inventoryConfigSchema, {
    service: { seedDemoCatalog: false, ...service },
  });
}

/**
 * The inventory service on a fresh database, port 0 and an in-memory bus that does not drop
 * duplicate publishes (so tests can deliver one event id twice and see the inbox at work).
 */
export async function startTestApp(
  options: {
    service?: Record<string, unknown>;
    config?: ReturnType<typeof inventoryTestConfig>;
    keepDatabase?: boolean;
  } = {},
): Promise<TestApp> {
  const config = options.config ?? inventoryTestConfig(options.service);
  const bus = new MemoryBus({ duplicateWindowSize: 0 });
  const logLines: Record<string, unknown>[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n'))
        if (line.trim() !== '') logLines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  const log = createLogger({ service: 'inventory', level: 'debug', destination });
  const recorder = await recordEvents(bus, [StockReservedSchema, StockRejectedSchema]);
  const service = await startTestService(inventoryService, {
    config,
    bus,
    log,
    ...(options.keepDatabase ? { keepDatabase: true } : {}),
  });
  const client = createRpcClient(InventoryService, {
    baseUrl: service.url,
    defaultTimeoutMs: 5000,
    identity: await testCaller('gateway', 'inventory'),
  });
  return {
    runtime: service.runtime,
    bus,
    client,
    recorder,
    logLines,
    config,
    stop: async () => {
      await service.stop();
      await recorder.stop();
      await bus.close();
    },
  };
}

export function aSku(): string {
  return `SKU-${randomBytes(4).toString('hex').toUpperCase()}`;
}

/** A product of its own with `stock` units available. */
export async function aProduct(
  client: InventoryClient,
  options: { stock?: number; priceCents?: bigint; name?: string } = {},
): Promise<string> {
  const sku = aSku();
  await client.upsertProduct({
    sku,
    name: options.name ?? `Product ${sku}`,
    priceCents: options.priceCents ?? 1000n,
  });
  if (options.stock) await client.adjustStock({ sku, delta: options.stock });
  return sku;
}

/** The whole catalog, page after page. */
export async function allProducts(client: InventoryClient) {
  const products = [];
  let cursor = '';
  do {
    const page = await client.listProducts({ cursor });
    products.push(...page.products);
    cursor = page.nextCursor;
  } while (cursor);
  return products;
}

export async function stockOf(
  client: InventoryClient,
  sku: string,
): Promise<{ available: number; reserved: number }> {
  const products = await allProducts(client);
  const product = products.find((p) => p.sku === sku);
  if (!product) throw new Error(`no product ${sku}`);
  return { available: product.available, reserved: product.reserved };
}

/** available + reserved + sold against the ledger of adjustments, for every product. */
export async function conservationReport(
  runtime: ServiceRuntime,
): Promise<{ sku: string; available: number; reserved: number; sold: number; ledger: number }[]> {
  const { rows } = await runtime.db.query<{
    sku: string;
    available: number;
    reserved: number;
    sold: number;
    ledger: number;
  }>(
    `SELECT p.sku, p.available, p.reserved, p.sold,
            (SELECT COALESCE(SUM(a.delta), 0)::int FROM stock_adjustments a WHERE a.sku = p.sku) AS ledger
       FROM products p ORDER BY p.sku`,
  );
  return rows;
}

export async function reservationOf(
  runtime: ServiceRuntime,
  orderId: string,
): Promise<{ id: string; status: string; lines: number } | undefined> {
  const { rows } = await runtime.db.query<{ id: string; status: string; lines: number }>(
    `SELECT r.id, r.status, (SELECT count(*)::int FROM reservation_lines l WHERE l.reservation_id = r.id) AS lines
       FROM reservations r WHERE r.order_id = $1`,
    [orderId],
  );
  return rows[0];
}

export function orderPlaced(
  lines: { sku: string; quantity: number }[],
  orderId: string = randomUUID(),
) {
  return newEvent(OrderPlacedSchema, { orderId, customerId: 'customer-1', lines });
}

export function orderConfirmed(orderId: string, reservationId = '') {
  return newEvent(OrderConfirmedSchema, {
    orderId,
    customerId: 'customer-1',
    totalCents: 0n,
    reservationId,
  });
}

export function orderCancelled(orderId: string, reservationId = '') {
  return newEvent(OrderCancelledSchema, { orderId, customerId: 'customer-1', reservationId });
}

/** Bytes that are not a valid protobuf message, labelled as the given event type. */
export function poison(subject: string, eventType: string): BusMessage {
  const id = randomUUID();
  return {
    subject,
    id,
    data: new Uint8Array([0xff, 0xff, 0xff, 0xff]),
    headers: { [busHeaders.eventId]: id, [busHeaders.eventType]: eventType },
  };
}
