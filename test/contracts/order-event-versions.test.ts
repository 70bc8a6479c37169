import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, describe, expect, test } from 'vitest';
import { InventoryService } from '@orderly/inventory-contract/inventory_service';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory-contract/inventory_events';
import { inventoryService } from '@orderly/inventory';
import { notificationService } from '@orderly/notification';
import { paymentService } from '@orderly/payment';
import { orderService } from '@orderly/order';
import { OrderPlacedSchema as OrderPlacedV1Schema } from '@orderly/order-contract/order_events';
import { OrderService, OrderStatus } from '@orderly/order-contract/order_service';
import {
  OrderPlacedSchema as OrderPlacedV2Schema,
  PaymentRequestedSchema as PaymentRequestedV2Schema,
} from '@orderly/order-contract/v2/order_events';
import { PaymentRequestedSchema as PaymentRequestedV1Schema } from '@orderly/order-contract/order_events';
import { connectNatsBus, createRpcClient, MemoryBus } from '@orderly/platform';
import {
  eventually,
  recordEvents,
  startTestService,
  testCaller,
  type TestService,
} from '@orderly/platform/testing';

/**
 * Issue 17, the order events in two versions (docs/contracts.md), against the real order and
 * inventory services (PostgreSQL, an in-memory bus per system): the order service publishes what the
 * flag order-events-publish says; both copies of an event share its event id, so inventory, which
 * reads both versions in one subscription, reserves the stock once; and inventory narrowed to v2
 * only works on its own when v1 is no longer published.
 */
const dir = mkdtempSync(join(tmpdir(), 'orderly-event-versions-'));
const natsUrl = process.env.ORDERLY_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** A bus of the test's own on the stream the services use (the recorder's). */
function natsBusFor(nats: Record<string, unknown>) {
  return connectNatsBus({
    servers: natsUrl,
    stream: nats.stream as string,
    deadLetterStream: nats.deadLetterStream as string,
    duplicateWindowMs: 120_000,
    subjects: [`${nats.subjectPrefix as string}.>`],
    deadLetterSubjectPrefix: nats.deadLetterSubjectPrefix as string,
    name: 'orderly-test-recorder',
  });
}
const running: { stop(): Promise<void> }[] = [];

afterAll(async () => {
  for (const item of running.reverse()) await item.stop();
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Order and inventory (and with `whole`, payment and notification) on one bus, publishing
 * `published`, inventory reading `reading` (or all it declares).
 */
async function startSystem(
  published: string,
  reading?: string[],
  whole = false,
  nats?: Record<string, unknown>,
) {
  const flagsFile = join(dir, `flags-${randomUUID()}.json`);
  writeFileSync(
    flagsFile,
    JSON.stringify({
      $schema: 'https://flagd.dev/schema/v0/flags.json',
      flags: {
        'order-events-publish': {
          state: 'ENABLED',
          variants: { configured: published },
          defaultVariant: 'configured',
        },
      },
    }),
  );
  // With `nats`, every service opens its own connection to JetStream (as separate processes would);
  // the recorder reads the same stream through a bus of its own.
  const bus = nats ? await natsBusFor(nats) : new MemoryBus();
  running.push({ stop: () => bus.close() });
  const platform = { flags: { file: flagsFile }, ...(nats ? { bus: nats } : {}) };
  const recorder = await recordEvents(
    bus,
    [
      OrderPlacedV1Schema,
      OrderPlacedV2Schema,
      PaymentRequestedV1Schema,
      PaymentRequestedV2Schema,
      StockReservedSchema,
      StockRejectedSchema,
    ],
    undefined,
    nats ? (nats.subjectPrefix as string) : undefined,
  );
  running.push(recorder);
  /** The bus of the next service: its own JetStream connection, or the one in-memory bus. */
  const busOf = async () => {
    if (!nats) return { bus };
    const own = await natsBusFor(nats);
    running.push({ stop: () => own.close() });
    return { bus: own };
  };
  const inventory: TestService<unknown> = await startTestService(inventoryService, {
    ...(await busOf()),
    platform,
    ...(reading ? { service: { orderEvents: { versions: reading } } } : {}),
  });
  running.push(inventory);
  const order: TestService<unknown> = await startTestService(orderService, {
    ...(await busOf()),
    platform,
    service: { riskAssessment: false },
  });
  running.push(order);
  const consumers: TestService<unknown>[] = [inventory];
  if (whole) {
    const options = { platform: { ...platform, dataDir: dir } };
    const payment: TestService<unknown> = await startTestService(paymentService, {
      ...options,
      ...(await busOf()),
    });
    running.push(payment);
    const notification: TestService<unknown> = await startTestService(notificationService, {
      ...options,
      ...(await busOf()),
    });
    running.push(notification);
    consumers.push(payment, notification);
  }
  const sku = `SKU-EV-${randomBytes(3).toString('hex').toUpperCase()}`;
  const catalog = createRpcClient(InventoryService, {
    baseUrl: inventory.url,
    defaultTimeoutMs: 10_000,
    identity: await testCaller('operator', 'inventory'),
  });
  await catalog.upsertProduct({ sku, name: 'Versioned mug', priceCents: 1250n, currency: 'EUR' });
  await catalog.adjustStock({ sku, delta: 10 });
  const orders = createRpcClient(OrderService, {
    baseUrl: order.url,
    defaultTimeoutMs: 10_000,
    identity: await testCaller('gateway', 'order'),
  });
  const place = async (currency = 'EUR') => {
    const customerId = `customer-${randomUUID()}`;
    const { order: placed } = await orders.placeOrder({
      customerId,
      idempotencyKey: randomUUID(),
      lines: [{ sku, quantity: 3 }],
      paymentMethod: 'pm_card_ok',
      currency,
    });
    return { orderId: placed!.orderId, customerId };
  };
  const statusOf = async (placed: { orderId: string; customerId: string }) =>
    (await orders.getOrder(placed)).order?.status;
  const available = async () =>
    (await catalog.listProducts({ limit: 1000 })).products.find((p) => p.sku === sku)?.available;
  /** Inbox rows of inventory's reserve-stock subscription: one per event applied or skipped as seen. */
  const reserveInboxRows = async () =>
    (
      await inventory.runtime.db.query<{ rows: number }>(
        `SELECT count(*)::int AS rows FROM inbox WHERE subscription = 'inventory.reserve-stock'`,
      )
    ).rows[0]?.rows;
  /** Every consumer's inbox rows by subscription (one per event applied). */
  const inboxRows = async () => {
    const rows: Record<string, number> = {};
    for (const consumer of consumers)
      for (const row of (
        await consumer.runtime.db.query<{ subscription: string; rows: number }>(
          `SELECT subscription, count(*)::int AS rows FROM inbox GROUP BY subscription`,
        )
      ).rows)
        rows[row.subscription] = row.rows;
    return rows;
  };
  return { recorder, place, statusOf, available, reserveInboxRows, inboxRows };
}

describe('order events in version 1 and 2', () => {
  test('when both versions are published, then each event goes out as order.v1 and order.v2 with one event id, money as Money in v2, and inventory (reading both) reserves once', async () => {
    const system = await startSystem('v1,v2');
    const placed = await system.place();

    await eventually(async () =>
      expect(await system.statusOf(placed)).toBe(OrderStatus.STOCK_RESERVED),
    );
    const { recorder } = system;
    await eventually(() => {
      expect(
        recorder.of(PaymentRequestedV2Schema).filter((e) => e.orderId === placed.orderId),
      ).toHaveLength(1);
      return Promise.resolve();
    });
    const v1 = recorder.of(OrderPlacedV1Schema).filter((e) => e.orderId === placed.orderId);
    const v2 = recorder.of(OrderPlacedV2Schema).filter((e) => e.orderId === placed.orderId);
    expect(v1).toHaveLength(1);
    expect(v2).toHaveLength(1);
    expect(v2[0]!.eventId).toBe(v1[0]!.eventId);
    expect(v2[0]).toMatchObject({ currency: 'EUR', lines: [{ quantity: 3 }] });
    const payment = recorder.of(PaymentRequestedV2Schema).find((e) => e.orderId === placed.orderId);
    expect(payment?.amount).toMatchObject({ amountMinor: 3750n, currency: 'EUR' });
    const paymentV1 = recorder
      .of(PaymentRequestedV1Schema)
      .find((e) => e.orderId === placed.orderId);
    expect(paymentV1).toMatchObject({
      amountCents: 3750n,
      currency: 'EUR',
      eventId: payment?.eventId,
    });

    // Two deliveries of one OrderPlaced (both recorded above), one inbox row: the second was a
    // duplicate of the first, not a second event that inventory's own checks had to refuse.
    expect(await system.reserveInboxRows()).toBe(1);
    // One reservation: one answer, the stock taken once.
    expect(
      recorder.of(StockReservedSchema).filter((e) => e.orderId === placed.orderId),
    ).toHaveLength(1);
    expect(recorder.of(StockRejectedSchema).filter((e) => e.orderId === placed.orderId)).toEqual(
      [],
    );
    expect(await system.available()).toBe(7);
  });

  test('when both versions are published and inventory, payment and notification each read both, then the saga confirms the order and every consumer applies each event once', async () => {
    const system = await startSystem('v1,v2', undefined, true);
    const placed = await system.place();
    await eventually(async () => expect(await system.statusOf(placed)).toBe(OrderStatus.CONFIRMED));
    // OrderPlaced, PaymentRequested, OrderConfirmed: each delivered twice (v1 and v2), applied once.
    await eventually(async () =>
      expect(await system.inboxRows()).toEqual({
        'inventory.reserve-stock': 1,
        'inventory.settle-reservations': 1,
        'payment.charge': 1,
        'notification.customer-messages': 1,
      }),
    );
    expect(await system.available()).toBe(7);
  });

  test('when both versions are published on NATS JetStream, then each consumer still applies each event once (its inbox keys on the shared event id; the copies have their own Nats-Msg-Id)', async () => {
    const id = randomBytes(4).toString('hex');
    const nats = {
      kind: 'nats',
      natsServers: natsUrl,
      stream: `TEST_EV_${id}`,
      deadLetterStream: `TEST_EV_${id}_DEAD`,
      subjectPrefix: `ev${id}`,
      deadLetterSubjectPrefix: `ev${id}dead`,
    };
    running.unshift({
      stop: async () => {
        const nc = await connect({ servers: natsUrl });
        const jsm = await jetstreamManager(nc);
        for (const stream of [nats.stream, nats.deadLetterStream])
          await jsm.streams.delete(stream).catch(() => false);
        await nc.close();
      },
    });
    const system = await startSystem('v1,v2', undefined, true, nats);
    const placed = await system.place();
    await eventually(
      async () => expect(await system.statusOf(placed)).toBe(OrderStatus.CONFIRMED),
      { timeoutMs: 20_000 },
    );
    await eventually(async () =>
      expect(await system.inboxRows()).toEqual({
        'inventory.reserve-stock': 1,
        'inventory.settle-reservations': 1,
        'payment.charge': 1,
        'notification.customer-messages': 1,
      }),
    );
    const v1 = system.recorder.of(OrderPlacedV1Schema).filter((e) => e.orderId === placed.orderId);
    const v2 = system.recorder.of(OrderPlacedV2Schema).filter((e) => e.orderId === placed.orderId);
    expect(v1.map((e) => e.eventId)).toEqual(v2.map((e) => e.eventId));
    expect(await system.available()).toBe(7);
  });

  test('when only v1 is published (as shipped), then no order.v2 event goes out and the saga runs as before', async () => {
    const system = await startSystem('v1');
    const placed = await system.place();
    await eventually(async () =>
      expect(await system.statusOf(placed)).toBe(OrderStatus.STOCK_RESERVED),
    );
    expect(system.recorder.of(OrderPlacedV2Schema)).toEqual([]);
    expect(
      system.recorder.of(OrderPlacedV1Schema).filter((e) => e.orderId === placed.orderId),
    ).toHaveLength(1);
  });

  test('when v1 publishing is off, then inventory reading v2 only reserves the order on its own, and no v1 event goes out', async () => {
    const system = await startSystem('v2', ['v2']);
    const placed = await system.place();
    await eventually(async () =>
      expect(await system.statusOf(placed)).toBe(OrderStatus.STOCK_RESERVED),
    );
    expect(system.recorder.of(OrderPlacedV1Schema)).toEqual([]);
    expect(
      system.recorder.of(OrderPlacedV2Schema).filter((e) => e.orderId === placed.orderId),
    ).toHaveLength(1);
    expect(await system.available()).toBe(7);
  });

  test('when inventory is configured for a version its package.json does not declare, then it refuses to start', async () => {
    await expect(
      startTestService(inventoryService, { service: { orderEvents: { versions: ['v3'] } } }),
    ).rejects.toThrow(/orderEvents/);
  });
});
