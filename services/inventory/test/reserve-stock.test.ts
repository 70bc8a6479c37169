import { randomUUID } from 'node:crypto';
import { timestampDate } from '@bufbuild/protobuf/wkt';
import { eventually } from '@orderly/platform/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import {
  StockRejectedSchema,
  StockReservedSchema,
} from '@orderly/inventory-contract/inventory_events';
import {
  aProduct,
  aSku,
  conservationReport,
  orderPlaced,
  poison,
  reservationOf,
  startTestApp,
  stockOf,
  type TestApp,
} from './test-app.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({ service: { reservationTtlMs: 600_000 } });
});
afterAll(async () => {
  await app.stop();
});

const reservedFor = (orderId: string) =>
  eventually(() => {
    const event = app.recorder.of(StockReservedSchema).find((e) => e.orderId === orderId);
    expect(event).toBeDefined();
    return event!;
  });

const rejectedFor = (orderId: string) =>
  eventually(() => {
    const event = app.recorder.of(StockRejectedSchema).find((e) => e.orderId === orderId);
    expect(event).toBeDefined();
    return event!;
  });

describe('inventory.reserve-stock', () => {
  test('when every line is in stock, then StockReserved carries priced lines and total and the stock is held', async () => {
    const coffee = await aProduct(app.client, { stock: 20, priceCents: 2490n });
    const mug = await aProduct(app.client, { stock: 5, priceCents: 1200n });
    const event = orderPlaced([
      { sku: coffee, quantity: 2 },
      { sku: mug, quantity: 1 },
      { sku: coffee, quantity: 1 },
    ]);
    const before = Date.now();

    await app.bus.publish([event.bus]);

    const reserved = await reservedFor(event.message.orderId);
    expect(reserved.reservationId).not.toBe('');
    expect(
      reserved.lines.map((l) => ({
        sku: l.sku,
        quantity: l.quantity,
        unitPriceCents: l.unitPriceCents,
      })),
    ).toEqual(
      [
        { sku: coffee, quantity: 3, unitPriceCents: 2490n },
        { sku: mug, quantity: 1, unitPriceCents: 1200n },
      ].sort((a, b) => (a.sku < b.sku ? -1 : 1)),
    );
    expect(reserved.totalCents).toBe(3n * 2490n + 1200n);
    const expiresAt = timestampDate(reserved.expiresAt!).getTime();
    expect(expiresAt).toBeGreaterThanOrEqual(before + 600_000 - 1000);
    expect(await stockOf(app.client, coffee)).toEqual({ available: 17, reserved: 3 });
    expect(await stockOf(app.client, mug)).toEqual({ available: 4, reserved: 1 });
    expect(await reservationOf(app.runtime, event.message.orderId)).toMatchObject({
      status: 'RESERVED',
      lines: 2,
    });
  });

  test('when a line is short of stock, then StockRejected names it and nothing is held', async () => {
    const plenty = await aProduct(app.client, { stock: 10 });
    const scarce = await aProduct(app.client, { stock: 2 });
    const event = orderPlaced([
      { sku: plenty, quantity: 1 },
      { sku: scarce, quantity: 3 },
    ]);

    await app.bus.publish([event.bus]);

    const rejected = await rejectedFor(event.message.orderId);
    expect(rejected).toMatchObject({ reason: 'OUT_OF_STOCK', skus: [scarce] });
    expect(await stockOf(app.client, plenty)).toEqual({ available: 10, reserved: 0 });
    expect(await stockOf(app.client, scarce)).toEqual({ available: 2, reserved: 0 });
    expect(await reservationOf(app.runtime, event.message.orderId)).toMatchObject({
      status: 'REJECTED',
      lines: 0,
    });
  });

  test('when a SKU is unknown, then StockRejected says UNKNOWN_SKU and nothing is held', async () => {
    const known = await aProduct(app.client, { stock: 10 });
    const unknown = aSku();
    const event = orderPlaced([
      { sku: known, quantity: 1 },
      { sku: unknown, quantity: 1 },
    ]);

    await app.bus.publish([event.bus]);

    expect(await rejectedFor(event.message.orderId)).toMatchObject({
      reason: 'UNKNOWN_SKU',
      skus: [unknown],
    });
    expect(await stockOf(app.client, known)).toEqual({ available: 10, reserved: 0 });
  });

  test('when a quantity is not positive, then StockRejected says INVALID_LINES', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    const event = orderPlaced([{ sku, quantity: 0 }]);

    await app.bus.publish([event.bus]);

    expect(await rejectedFor(event.message.orderId)).toMatchObject({
      reason: 'INVALID_LINES',
      skus: [sku],
    });
    expect(await stockOf(app.client, sku)).toEqual({ available: 10, reserved: 0 });
  });

  test('when 50 orders race for 10 units, then exactly 10 units are reserved and stock never goes negative', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    const events = Array.from({ length: 50 }, () => orderPlaced([{ sku, quantity: 1 }]));

    await Promise.all(events.map((event) => app.bus.publish([event.bus])));

    const orderIds = new Set(events.map((e) => e.message.orderId));
    await eventually(() => {
      const reserved = app.recorder.of(StockReservedSchema).filter((e) => orderIds.has(e.orderId));
      const rejected = app.recorder.of(StockRejectedSchema).filter((e) => orderIds.has(e.orderId));
      expect(reserved).toHaveLength(10);
      expect(rejected).toHaveLength(40);
      expect(rejected.every((e) => e.reason === 'OUT_OF_STOCK')).toBe(true);
    });
    expect(await stockOf(app.client, sku)).toEqual({ available: 0, reserved: 10 });
    expect((await conservationReport(app.runtime)).find((r) => r.sku === sku)).toEqual({
      sku,
      available: 0,
      reserved: 10,
      sold: 0,
      ledger: 10,
    });
  });

  test('when orders over several SKUs race in opposite line orders, then none deadlocks and stock is conserved', async () => {
    const a = await aProduct(app.client, { stock: 30 });
    const b = await aProduct(app.client, { stock: 30 });
    const events = Array.from({ length: 40 }, (_, i) =>
      orderPlaced(
        i % 2 === 0
          ? [
              { sku: a, quantity: 1 },
              { sku: b, quantity: 1 },
            ]
          : [
              { sku: b, quantity: 1 },
              { sku: a, quantity: 1 },
            ],
      ),
    );

    await Promise.all(events.map((event) => app.bus.publish([event.bus])));

    const orderIds = new Set(events.map((e) => e.message.orderId));
    await eventually(() => {
      const answered = [
        ...app.recorder.of(StockReservedSchema),
        ...app.recorder.of(StockRejectedSchema),
      ].filter((e) => orderIds.has(e.orderId));
      expect(answered).toHaveLength(40);
    });
    expect(
      app.recorder.of(StockReservedSchema).filter((e) => orderIds.has(e.orderId)),
    ).toHaveLength(30);
    // A deadlock would surface as a failed delivery that the bus retried.
    expect(app.logLines.filter((line) => line.msg === 'event handling failed')).toEqual([]);
    for (const row of (await conservationReport(app.runtime)).filter(
      (r) => r.sku === a || r.sku === b,
    )) {
      expect(row).toMatchObject({ available: 0, reserved: 30, ledger: 30 });
    }
  });

  test('when the payload cannot be decoded, then the message goes to the dead letters', async () => {
    const message = poison('events.order.v1.OrderPlaced', 'order.v1.OrderPlaced');

    await app.bus.publish([message]);

    const deadLetters = await app.bus.listDeadLetters();
    expect(deadLetters).toContainEqual(
      expect.objectContaining({ subscription: 'inventory.reserve-stock', eventId: message.id }),
    );
  });

  test('when one event id is delivered twice, then stock is reserved once and one StockReserved is published', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    const event = orderPlaced([{ sku, quantity: 4 }]);

    await app.bus.publish([event.bus]);
    await app.bus.publish([event.bus]);

    await reservedFor(event.message.orderId);
    expect(app.logLines).toContainEqual(
      expect.objectContaining({ msg: 'duplicate event skipped', eventId: event.message.eventId }),
    );
    expect(await stockOf(app.client, sku)).toEqual({ available: 6, reserved: 4 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(
      app.recorder.of(StockReservedSchema).filter((e) => e.orderId === event.message.orderId),
    ).toHaveLength(1);
  });

  test('when OrderPlaced for a reserved order arrives again under a new event id, then nothing more is reserved', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    const orderId = randomUUID();
    const first = orderPlaced([{ sku, quantity: 4 }], orderId);
    const second = orderPlaced([{ sku, quantity: 4 }], orderId);

    await app.bus.publish([first.bus]);
    await app.bus.publish([second.bus]);

    await reservedFor(orderId);
    expect(await stockOf(app.client, sku)).toEqual({ available: 6, reserved: 4 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(app.recorder.of(StockReservedSchema).filter((e) => e.orderId === orderId)).toHaveLength(
      1,
    );
    expect(app.recorder.of(StockRejectedSchema).filter((e) => e.orderId === orderId)).toHaveLength(
      0,
    );
  });
});
