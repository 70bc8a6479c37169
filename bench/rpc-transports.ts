/**
 * What one gateway→order hop costs, by transport: the same PlaceOrder request and response (the
 * order contract's protobuf messages) over
 *   - Connect, HTTP/1.1 keep-alive, binary protobuf (what Orderly uses);
 *   - Connect, HTTP/1.1, JSON;
 *   - Connect, HTTP/2 cleartext (h2c, one multiplexed session), binary protobuf;
 *   - Connect, HTTP/1.1, binary, with the calls in flight together batched into PlaceOrders (what
 *     the gateway does since the intake hop was batched);
 *   - a bare node:http POST carrying the same protobuf bytes (no RPC framework: the floor).
 * Client and server run in this one process with no telemetry and a handler that answers at
 * once, so the figure is the transport's own CPU per call (client + server), from process.cpuUsage.
 * Not a test: it prints a table.   npm run bench:rpc -- [--calls 4000] [--concurrency 32]
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { createClient, type ConnectRouter } from '@connectrpc/connect';
import { connectNodeAdapter, createConnectTransport } from '@connectrpc/connect-node';
import {
  OrderSchema,
  OrderService,
  OrderStatus,
  PlaceOrderRequestSchema,
  PlaceOrderResponseSchema,
} from '@orderly/order-contract/order_service';
import { GroupCommit } from '@orderly/platform';

const args = process.argv.slice(2);
const option = (name: string, fallback: number) => {
  const index = args.indexOf(`--${name}`);
  return index >= 0 ? Number(args[index + 1]) : fallback;
};
const calls = option('calls', 4000);
const concurrency = option('concurrency', 32);

const request = create(PlaceOrderRequestSchema, {
  customerId: '0b7c3c1e-8f6d-4a51-9d8e-2f4c5a6b7c8d',
  idempotencyKey: 'bench-key-0001',
  lines: [
    { sku: 'SKU-0001', quantity: 2 },
    { sku: 'SKU-0002', quantity: 1 },
  ],
  paymentMethod: 'pm_card_ok',
});
const now = timestampFromDate(new Date());
const response = create(PlaceOrderResponseSchema, {
  replayed: false,
  order: create(OrderSchema, {
    orderId: '6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f',
    customerId: request.customerId,
    status: OrderStatus.PENDING,
    lines: request.lines.map((l) => ({ sku: l.sku, quantity: l.quantity, unitPriceCents: 1250n })),
    totalCents: 3750n,
    paymentMethod: request.paymentMethod,
    placedAt: now,
    history: [{ status: OrderStatus.PENDING, at: now }],
  }),
});
const routes = (router: ConnectRouter) =>
  router.service(OrderService, {
    placeOrder: () => response,
    placeOrders: (batch) => ({
      results: batch.orders.map(() => ({ outcome: { case: 'placed' as const, value: response } })),
    }),
    getOrder: () => ({ order: response.order }),
    listOrders: () => ({ orders: [] }),
  });

async function listen(server: http.Server | http2.Http2Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

async function measure(name: string, call: () => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 500; i++) await call(); // warm-up: JIT, connections
  let started = 0;
  const t0 = performance.now();
  const before = process.cpuUsage();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (started < calls) {
        started++;
        await call();
      }
    }),
  );
  const cpu = process.cpuUsage(before);
  const seconds = (performance.now() - t0) / 1000;
  console.log(
    `| ${name} | ${Math.round(calls / seconds).toLocaleString('en')} | ${Math.round((cpu.user + cpu.system) / calls)} |`,
  );
}

console.log(
  `${calls} PlaceOrder calls, ${concurrency} at a time, client and server in one process (node ${process.version})\n`,
);
console.log('| transport | calls/s | CPU µs per call (client + server) |\n|---|---|---|');

const h1 = http.createServer(connectNodeAdapter({ routes }));
const h1Url = await listen(h1);
for (const useBinaryFormat of [true, false]) {
  const client = createClient(
    OrderService,
    createConnectTransport({ baseUrl: h1Url, httpVersion: '1.1', useBinaryFormat }),
  );
  await measure(`Connect HTTP/1.1 ${useBinaryFormat ? 'binary' : 'JSON'}`, () =>
    client.placeOrder(request, { timeoutMs: 5000 }),
  );
}

// What the gateway does (services/gateway/src/entry-points/orders/order-intake-batcher.ts):
// the calls in flight together share one PlaceOrders call, at most 4 calls at once
// (services.gateway.orderIntakeBatch).
{
  const client = createClient(
    OrderService,
    createConnectTransport({ baseUrl: h1Url, httpVersion: '1.1', useBinaryFormat: true }),
  );
  const batches = new GroupCommit<typeof request, unknown>(
    () => ({ maxBatch: 64, maxInFlight: 4 }),
    async (orders) =>
      (
        await client.placeOrders(
          { orders: orders.map((order) => ({ order, traceContext: {} })) },
          { timeoutMs: 5000 },
        )
      ).results,
  );
  await measure(`Connect HTTP/1.1 binary, PlaceOrders batches (≤ 4 in flight)`, () =>
    batches.submit(request),
  );
}

const h2 = http2.createServer(connectNodeAdapter({ routes }));
const h2Url = await listen(h2);
const h2Client = createClient(
  OrderService,
  createConnectTransport({ baseUrl: h2Url, httpVersion: '2', useBinaryFormat: true }),
);
await measure('Connect HTTP/2 (h2c) binary', () =>
  h2Client.placeOrder(request, { timeoutMs: 5000 }),
);

// The floor: the same bytes over a bare keep-alive POST, no framework on either side.
const bare = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    fromBinary(PlaceOrderRequestSchema, Buffer.concat(chunks));
    res
      .writeHead(200, { 'content-type': 'application/proto' })
      .end(toBinary(PlaceOrderResponseSchema, response));
  });
});
const bareUrl = new URL('/order.v1.OrderService/PlaceOrder', await listen(bare));
const agent = new http.Agent({ keepAlive: true });
await measure(
  'bare node:http POST, protobuf bytes',
  () =>
    new Promise((resolve, reject) => {
      const body = toBinary(PlaceOrderRequestSchema, request);
      const req = http.request(
        bareUrl,
        {
          method: 'POST',
          agent,
          headers: { 'content-type': 'application/proto', 'content-length': body.length },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve(fromBinary(PlaceOrderResponseSchema, Buffer.concat(chunks))));
        },
      );
      req.on('error', reject);
      req.end(body);
    }),
);

h1.close();
h2.close();
bare.close();
agent.destroy();
process.exit(0);
