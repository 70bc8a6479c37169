import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { databaseUrl } from '@orderly/platform';
import { dropTestDatabase, eventually, recordTransactions } from '@orderly/platform/testing';
import { afterAll, afterEach, beforeAll, describe, expect, test } from 'vitest';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory-contract/inventory_events';
import {
  aProduct,
  conservationReport,
  orderCancelled,
  orderConfirmed,
  orderPlaced,
  reservationOf,
  startTestApp,
  stockOf,
  type TestApp,
} from './test-app.js';

/**
 * Both inventory subscriptions apply the deliveries that arrive together as one batch (one
 * transaction, set-based SQL). These tests publish several events at once (one `publish` call
 * hands them to the consumer in the same turn, so they form one batch) or in a stream that keeps
 * two batches of each subscription in flight, and check what a client of the bus can see.
 */

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ service: { reservationTtlMs: 600_000 } });
});
afterAll(async () => {
  await app.stop();
});

const answerOf = (target: TestApp, orderId: string) =>
  [...target.recorder.of(StockReservedSchema), ...target.recorder.of(StockRejectedSchema)].filter(
    (e) => e.orderId === orderId,
  );

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Per SKU: the counters, the ledger, and what the reservations say is held and sold. */
async function stockAccounting(target: TestApp, skus: readonly string[]) {
  const { rows } = await target.runtime.db.query<{
    sku: string;
    available: number;
    reserved: number;
    sold: number;
    ledger: number;
    held: number;
    confirmed: number;
  }>(
    `SELECT p.sku, p.available, p.reserved, p.sold,
            (SELECT COALESCE(SUM(a.delta), 0)::int FROM stock_adjustments a WHERE a.sku = p.sku) AS ledger,
            (SELECT COALESCE(SUM(l.quantity), 0)::int FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
              WHERE l.sku = p.sku AND r.status = 'RESERVED') AS held,
            (SELECT COALESCE(SUM(l.quantity), 0)::int FROM reservation_lines l JOIN reservations r ON r.id = l.reservation_id
              WHERE l.sku = p.sku AND r.status = 'CONFIRMED') AS confirmed
       FROM products p WHERE p.sku = ANY($1::text[]) ORDER BY p.sku`,
    [skus],
  );
  return rows;
}

/** `pg_stat_database.deadlocks` of one database, read on a connection of our own. */
async function deadlocksOf(serverUrl: string, database: string): Promise<number> {
  const client = new pg.Client({ connectionString: databaseUrl(serverUrl, 'postgres') });
  await client.connect();
  try {
    const { rows } = await client.query<{ deadlocks: string }>(
      'SELECT deadlocks::text FROM pg_stat_database WHERE datname = $1',
      [database],
    );
    return Number(rows[0]?.deadlocks ?? 0);
  } finally {
    await client.end();
  }
}

/** Round trips of the service's consumer transactions (BEGIN with the inbox rows … COMMIT). */
function countConsumerQueries(database: string): { count(): number; stop(): void } {
  const recorder = recordTransactions(database);
  return { count: () => recorder.consumerStatements(), stop: () => recorder.stop() };
}

describe('inventory consumers, batched', () => {
  let counter: ReturnType<typeof countConsumerQueries> | undefined;
  afterEach(() => {
    counter?.stop();
    counter = undefined;
  });

  test('when many orders over a few shared SKUs are reserved and settled in concurrent batches, then none deadlocks, nothing is oversold and every unit is accounted for', async () => {
    const own = await startTestApp({
      service: { reservationTtlMs: 600_000 },
      keepDatabase: true,
    });
    const serverUrl = own.config.platform.postgres.url;
    const database = own.config.service.database;
    try {
      const stock = 40;
      const skus = await Promise.all(
        Array.from({ length: 4 }, () => aProduct(own.client, { stock })),
      );
      const deadlocksBefore = await deadlocksOf(serverUrl, database);
      // Lines over 1 to 3 of the shared SKUs in random order: batches of these lock many stock rows.
      const orders = Array.from({ length: 240 }, () =>
        orderPlaced(
          [...skus]
            .sort(() => Math.random() - 0.5)
            .slice(0, 1 + Math.floor(Math.random() * 3))
            .map((sku) => ({ sku, quantity: 1 + Math.floor(Math.random() * 2) })),
        ),
      );
      const published: Promise<void>[] = [];
      const settled = new Set<string>();
      // Confirm or cancel what is reserved so far, alternately: settle batches mix both kinds
      // and release or sell units on the SKUs the reserve batches are locking meanwhile.
      const settleReserved = () => {
        for (const reserved of own.recorder.of(StockReservedSchema)) {
          if (settled.has(reserved.orderId)) continue;
          settled.add(reserved.orderId);
          const event =
            settled.size % 2 === 0
              ? orderConfirmed(reserved.orderId, reserved.reservationId)
              : orderCancelled(reserved.orderId, reserved.reservationId);
          published.push(own.bus.publish([event.bus]));
        }
      };
      // A stream rather than one burst, so that batches of every size form and two batches of
      // each subscription are in flight at once.
      for (const [index, order] of orders.entries()) {
        published.push(own.bus.publish([order.bus]));
        if (index % 6 === 5) {
          await sleep(1);
          settleReserved();
        }
      }
      await eventually(
        () => {
          settleReserved();
          for (const order of orders) expect(answerOf(own, order.message.orderId)).toHaveLength(1);
        },
        { timeoutMs: 30_000 },
      );
      await Promise.all(published);

      expect(own.logLines.filter((line) => line.msg === 'event handling failed')).toEqual([]);
      const accounting = await stockAccounting(own, skus);
      expect(accounting).toHaveLength(skus.length);
      for (const row of accounting) {
        expect(row.available).toBeGreaterThanOrEqual(0);
        expect(row.available + row.reserved + row.sold).toBe(stock);
        expect(row.ledger).toBe(stock);
        expect(row.reserved).toBe(row.held);
        expect(row.sold).toBe(row.confirmed);
      }
      // Everything was settled, so nothing is held; and units did change hands.
      expect(accounting.every((row) => row.reserved === 0)).toBe(true);
      expect(accounting.some((row) => row.sold > 0)).toBe(true);
      expect(own.recorder.of(StockRejectedSchema).length).toBeGreaterThan(0);

      // A backend reports its statistics when it ends: stop the service, then read them.
      await own.runtime.stop();
      let deadlocks = 0;
      for (let i = 0; i < 10; i++) {
        deadlocks = Math.max(deadlocks, await deadlocksOf(serverUrl, database));
        await sleep(200);
      }
      expect(deadlocks - deadlocksBefore).toBe(0);
    } finally {
      await own.stop();
      await dropTestDatabase(serverUrl, database);
    }
  });

  test('when two orders in one batch want the last unit, then the one delivered first gets it and the other is rejected', async () => {
    const skus = await Promise.all(
      Array.from({ length: 8 }, () => aProduct(app.client, { stock: 1 })),
    );
    const pairs = skus.map((sku) => ({
      first: orderPlaced([{ sku, quantity: 1 }]),
      second: orderPlaced([{ sku, quantity: 1 }]),
    }));

    // One publish: the consumer receives these in this order, in one turn, as one batch.
    await app.bus.publish(pairs.flatMap(({ first, second }) => [first.bus, second.bus]));

    for (const [index, { first, second }] of pairs.entries()) {
      await eventually(() => {
        expect(answerOf(app, first.message.orderId)).toHaveLength(1);
        expect(answerOf(app, second.message.orderId)).toHaveLength(1);
      });
      expect(
        app.recorder.of(StockReservedSchema).find((e) => e.orderId === first.message.orderId),
      ).toBeDefined();
      expect(
        app.recorder.of(StockRejectedSchema).find((e) => e.orderId === second.message.orderId),
      ).toMatchObject({ reason: 'OUT_OF_STOCK', skus: [skus[index]] });
      expect(await stockOf(app.client, skus[index]!)).toEqual({ available: 0, reserved: 1 });
    }
  });

  test('when one batch holds OrderPlaced twice for one order, then the first reserves and the second changes nothing', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    const orderId = randomUUID();

    await app.bus.publish([
      orderPlaced([{ sku, quantity: 3 }], orderId).bus,
      orderPlaced([{ sku, quantity: 3 }], orderId).bus,
    ]);

    await eventually(() => expect(answerOf(app, orderId)).toHaveLength(1));
    expect(app.recorder.of(StockReservedSchema).filter((e) => e.orderId === orderId)).toHaveLength(
      1,
    );
    expect(await stockOf(app.client, sku)).toEqual({ available: 7, reserved: 3 });
  });

  test('when one batch confirms one order and cancels another, then the first is sold and the second released', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    const confirmed = orderPlaced([{ sku, quantity: 2 }]);
    const cancelled = orderPlaced([{ sku, quantity: 3 }]);
    const lateCancel = randomUUID();
    await app.bus.publish([confirmed.bus, cancelled.bus]);
    await eventually(() => {
      expect(answerOf(app, confirmed.message.orderId)).toHaveLength(1);
      expect(answerOf(app, cancelled.message.orderId)).toHaveLength(1);
    });

    await app.bus.publish([
      orderConfirmed(confirmed.message.orderId).bus,
      orderCancelled(cancelled.message.orderId).bus,
      orderCancelled(lateCancel).bus,
      // A second cancellation under a new event id, in the same batch: released once.
      orderCancelled(cancelled.message.orderId).bus,
    ]);

    expect(await reservationOf(app.runtime, confirmed.message.orderId)).toMatchObject({
      status: 'CONFIRMED',
    });
    expect(await reservationOf(app.runtime, cancelled.message.orderId)).toMatchObject({
      status: 'CANCELLED',
    });
    expect(await reservationOf(app.runtime, lateCancel)).toMatchObject({
      status: 'CANCELLED',
      lines: 0,
    });
    expect((await conservationReport(app.runtime)).find((r) => r.sku === sku)).toEqual({
      sku,
      available: 8,
      reserved: 0,
      sold: 2,
      ledger: 10,
    });
  });

  test('when a batch holds an OrderPlaced without order id, then it alone is dead-lettered and the others are reserved', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    const before = orderPlaced([{ sku, quantity: 1 }]);
    const poisoned = orderPlaced([{ sku, quantity: 1 }], '');
    const after = orderPlaced([{ sku, quantity: 2 }]);

    await app.bus.publish([before.bus, poisoned.bus, after.bus]);

    await eventually(() => {
      expect(answerOf(app, before.message.orderId)).toHaveLength(1);
      expect(answerOf(app, after.message.orderId)).toHaveLength(1);
    });
    expect(
      app.recorder
        .of(StockReservedSchema)
        .filter((e) => [before.message.orderId, after.message.orderId].includes(e.orderId)),
    ).toHaveLength(2);
    expect(await stockOf(app.client, sku)).toEqual({ available: 7, reserved: 3 });
    expect(await app.bus.listDeadLetters()).toContainEqual(
      expect.objectContaining({
        subscription: 'inventory.reserve-stock',
        eventId: poisoned.message.eventId,
        error: expect.stringContaining('order_id is empty') as string,
      }),
    );
  });

  test('when a batch holds an OrderConfirmed without order id, then it alone is dead-lettered and the others are settled', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    const placed = [orderPlaced([{ sku, quantity: 1 }]), orderPlaced([{ sku, quantity: 2 }])];
    await app.bus.publish(placed.map((p) => p.bus));
    await eventually(() => {
      for (const p of placed) expect(answerOf(app, p.message.orderId)).toHaveLength(1);
    });
    const poisoned = orderConfirmed('');

    await app.bus.publish([
      orderConfirmed(placed[0]!.message.orderId).bus,
      poisoned.bus,
      orderConfirmed(placed[1]!.message.orderId).bus,
    ]);

    expect((await conservationReport(app.runtime)).find((r) => r.sku === sku)).toMatchObject({
      available: 7,
      reserved: 0,
      sold: 3,
    });
    expect(await app.bus.listDeadLetters()).toContainEqual(
      expect.objectContaining({
        subscription: 'inventory.settle-reservations',
        eventId: poisoned.message.eventId,
      }),
    );
  });

  test('when 48 orders are reserved and then confirmed, then the consumers send far fewer queries than one transaction per event did', async () => {
    const skus = await Promise.all(
      Array.from({ length: 3 }, () => aProduct(app.client, { stock: 1000 })),
    );
    const orders = Array.from({ length: 48 }, (_, i) =>
      orderPlaced([
        { sku: skus[i % 3]!, quantity: 1 },
        { sku: skus[(i + 1) % 3]!, quantity: 2 },
      ]),
    );
    counter = countConsumerQueries(app.config.service.database);

    await app.bus.publish(orders.map((o) => o.bus));
    const reserving = counter.count();
    await app.bus.publish(orders.map((o) => orderConfirmed(o.message.orderId).bus));
    const settling = counter.count() - reserving;

    // One event per transaction took 7 round trips for an OrderPlaced (BEGIN with the inbox
    // insert, the order's reservation, its products, the reservation, the stock, the outbox,
    // COMMIT) and 7 for an OrderConfirmed.
    expect(reserving / orders.length).toBeLessThanOrEqual(1);
    expect(settling / orders.length).toBeLessThanOrEqual(1);
    for (const row of await stockAccounting(app, skus)) {
      expect(row).toMatchObject({ available: 1000 - 48, reserved: 0, sold: 48 });
    }
  });
});
