/**
 * What publishing the order events in two versions costs (issue 17, docs/contracts.md): the order
 * and inventory services in this process on one in-memory bus with the real PostgreSQL, the flag
 * order-events-publish at `v1` (as shipped) and then at `v1,v2` (the contract window: one more
 * outbox row per order event, one more publish, and inventory — reading both versions — one more
 * delivery per OrderPlaced, skipped by its inbox). Each round places the same number of orders through
 * the order RPC and waits until every one is STOCK_RESERVED (there is no payment service, so the
 * saga stops there). Not a test: it prints figures.
 *
 *   node --import tsx bench/order-event-versions.ts [--orders 400] [--rounds 2] [--concurrency 20]
 *
 * Reports per setting: wall time per order, this process's CPU per order (user + system: both
 * services, the bus and the relay; PostgreSQL's own CPU is not included), outbox rows written and
 * inventory inbox rows (deliveries applied) per order.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import { inventoryService } from '@orderly/inventory';
import { orderService } from '@orderly/order';
import { OrderService, OrderStatus } from '@orderly/order-contract/order_service';
import { createRpcClient, MemoryBus } from '@orderly/platform';
import { startTestService, testCaller } from '@orderly/platform/testing';

const args = process.argv.slice(2);
const option = (name: string, fallback: string): number => {
  const index = args.indexOf(`--${name}`);
  return Number(index >= 0 ? (args[index + 1] ?? fallback) : fallback);
};
const orderCount = option('orders', '400');
const rounds = option('rounds', '2');
const concurrency = option('concurrency', '20');

const dir = mkdtempSync(join(tmpdir(), 'orderly-bench-event-versions-'));

async function runOnce(published: string) {
  const flagsFile = join(dir, `flags-${randomUUID()}.json`);
  writeFileSync(
    flagsFile,
    JSON.stringify({
      flags: {
        'order-events-publish': {
          state: 'ENABLED',
          variants: { configured: published },
          defaultVariant: 'configured',
        },
      },
    }),
  );
  const bus = new MemoryBus();
  const platform = { flags: { file: flagsFile } };
  const inventory = await startTestService(inventoryService, { bus, platform });
  const order = await startTestService(orderService, {
    bus,
    platform,
    service: { riskAssessment: false },
  });
  try {
    const sku = 'SKU-BENCH';
    const catalog = createRpcClient(InventoryService, {
      baseUrl: inventory.url,
      defaultTimeoutMs: 10_000,
      identity: await testCaller('operator', 'inventory'),
    });
    await catalog.upsertProduct({ sku, name: 'Bench mug', priceCents: 1000n, currency: 'EUR' });
    await catalog.adjustStock({ sku, delta: 1_000_000 });
    const orders = createRpcClient(OrderService, {
      baseUrl: order.url,
      defaultTimeoutMs: 30_000,
      identity: await testCaller('gateway', 'order'),
    });
    const placed: { orderId: string; customerId: string }[] = [];
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < orderCount) {
          next += 1;
          const customerId = `bench-${randomUUID()}`;
          const { order: made } = await orders.placeOrder({
            customerId,
            idempotencyKey: randomUUID(),
            lines: [{ sku, quantity: 1 }],
            paymentMethod: 'pm_card_ok',
            currency: 'EUR',
          });
          placed.push({ orderId: made!.orderId, customerId });
        }
      }),
    );
    // Until every saga reached STOCK_RESERVED (one query per round of checks, in the order database).
    for (;;) {
      const { rows } = await order.runtime.db.query<{ open: number }>(
        `SELECT count(*)::int AS open FROM orders WHERE status = 'PENDING'`,
      );
      if ((rows[0]?.open ?? 1) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const wallMs = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    const reserved = await orders.getOrder(placed[0]!);
    if (reserved.order?.status !== OrderStatus.STOCK_RESERVED)
      throw new Error(`expected STOCK_RESERVED, got ${String(reserved.order?.status)}`);
    const outboxRows = (
      await order.runtime.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM outbox`)
    ).rows[0]!.n;
    const inboxRows = (
      await inventory.runtime.db.query<{ n: number }>(`SELECT count(*)::int AS n FROM inbox`)
    ).rows[0]!.n;
    return {
      wallMsPerOrder: wallMs / orderCount,
      cpuMsPerOrder: (cpu.user + cpu.system) / 1000 / orderCount,
      outboxRowsPerOrder: outboxRows / orderCount,
      inventoryInboxRowsPerOrder: inboxRows / orderCount,
    };
  } finally {
    await order.stop();
    await inventory.stop();
    await bus.close();
  }
}

const settings = ['v1', 'v1,v2'];
const results = new Map<string, Awaited<ReturnType<typeof runOnce>>[]>();
try {
  // A warm-up round first (JIT, connection pools), not counted.
  await runOnce('v1');
  for (let round = 0; round < rounds; round++)
    for (const published of settings) {
      const result = await runOnce(published);
      results.set(published, [...(results.get(published) ?? []), result]);
      console.log(`round ${round + 1} ${published}: ${JSON.stringify(result)}`);
    }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
console.log(
  `\n${orderCount} orders per round, ${concurrency} at once, ${rounds} rounds each (means):`,
);
for (const [published, runs] of results)
  console.log(
    `order-events-publish=${published.padEnd(6)} wall ${mean(runs.map((r) => r.wallMsPerOrder)).toFixed(2)} ms/order, ` +
      `process CPU ${mean(runs.map((r) => r.cpuMsPerOrder)).toFixed(2)} ms/order, ` +
      `outbox rows ${mean(runs.map((r) => r.outboxRowsPerOrder)).toFixed(2)}/order, ` +
      `inventory inbox rows ${mean(runs.map((r) => r.inventoryInboxRowsPerOrder)).toFixed(2)}/order`,
  );
