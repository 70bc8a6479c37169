import { eventually } from '@orderly/platform/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { StockReservedSchema } from '@orderly/inventory-contract/inventory_events';
import {
  aProduct,
  conservationReport,
  orderConfirmed,
  orderPlaced,
  reservationOf,
  startTestApp,
  stockOf,
  type TestApp,
} from './test-app.js';

const reservationTtlMs = 200;
let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    service: { reservationTtlMs, expirySweepIntervalMs: 50, expirySweepBatchSize: 2 },
  });
});
afterAll(async () => {
  await app.stop();
});

const staleWarning = 'reservation held longer than its TTL, order saga looks stuck';

async function aReservedOrder(stock: number, quantity: number) {
  const sku = await aProduct(app.client, { stock });
  const placed = orderPlaced([{ sku, quantity }]);
  await app.bus.publish([placed.bus]);
  await eventually(() =>
    expect(
      app.recorder.of(StockReservedSchema).filter((e) => e.orderId === placed.message.orderId),
    ).toHaveLength(1),
  );
  return { sku, orderId: placed.message.orderId };
}

/** What the expiry sweep of earlier versions did: EXPIRED, and the units back to available. */
async function expireAsEarlierVersionsDid(orderId: string, sku: string, quantity: number) {
  await app.runtime.db.query(
    `UPDATE reservations SET status = 'EXPIRED', settled_at = now() WHERE order_id = $1`,
    [orderId],
  );
  await app.runtime.db.query(
    'UPDATE products SET available = available + $2, reserved = reserved - $2 WHERE sku = $1',
    [sku, quantity],
  );
}

describe('stale reservations', () => {
  test('when reservations outlive their TTL, then they keep their stock and each is reported with a warning', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    // More reservations than one sweep batch, so the sweep has to take several.
    const events = Array.from({ length: 5 }, () => orderPlaced([{ sku, quantity: 2 }]));

    await Promise.all(events.map((event) => app.bus.publish([event.bus])));

    for (const event of events) {
      const { orderId } = event.message;
      await eventually(() =>
        expect(app.logLines).toContainEqual(
          expect.objectContaining({ level: 'warn', orderId, msg: staleWarning }),
        ),
      );
      expect(await reservationOf(app.runtime, orderId)).toMatchObject({ status: 'RESERVED' });
    }
    expect(await stockOf(app.client, sku)).toEqual({ available: 0, reserved: 10 });
  });

  test('when a reservation stays stale, then it is reported once per TTL rather than at every sweep', async () => {
    const { orderId } = await aReservedOrder(5, 1);
    const reports = () =>
      app.logLines.filter((l) => l.orderId === orderId && l.msg === staleWarning).length;
    await eventually(() => expect(reports()).toBeGreaterThan(0));

    await new Promise((resolve) => setTimeout(resolve, reservationTtlMs * 3));

    // About 12 sweeps ran meanwhile; one report per TTL makes at most 4 (5 with timer jitter).
    expect(reports()).toBeLessThanOrEqual(5);
  });

  test('when an order is confirmed after its reservation outlived the TTL, then its units are sold', async () => {
    const { sku, orderId } = await aReservedOrder(5, 2);
    await eventually(() =>
      expect(app.logLines).toContainEqual(expect.objectContaining({ orderId, msg: staleWarning })),
    );

    await app.bus.publish([orderConfirmed(orderId).bus]);

    expect(await reservationOf(app.runtime, orderId)).toMatchObject({ status: 'CONFIRMED' });
    expect((await conservationReport(app.runtime)).find((r) => r.sku === sku)).toEqual({
      sku,
      available: 3,
      reserved: 0,
      sold: 2,
      ledger: 5,
    });
  });

  test('when an order is confirmed after an earlier version expired its reservation, then the units are taken again and sold', async () => {
    const { sku, orderId } = await aReservedOrder(5, 2);
    await expireAsEarlierVersionsDid(orderId, sku, 2);

    await app.bus.publish([orderConfirmed(orderId).bus]);

    expect(await reservationOf(app.runtime, orderId)).toMatchObject({ status: 'CONFIRMED' });
    expect((await conservationReport(app.runtime)).find((r) => r.sku === sku)).toEqual({
      sku,
      available: 3,
      reserved: 0,
      sold: 2,
      ledger: 5,
    });
  });

  test('when the units of an expired reservation were sold again, then the confirmation goes to the dead letters and nothing changes', async () => {
    const { sku, orderId } = await aReservedOrder(2, 2);
    await expireAsEarlierVersionsDid(orderId, sku, 2);
    // Someone else took the released units.
    await app.runtime.db.query(
      'UPDATE products SET available = 0, sold = sold + 2 WHERE sku = $1',
      [sku],
    );
    const confirmed = orderConfirmed(orderId);

    await app.bus.publish([confirmed.bus]);

    const letter = await eventually(async () => {
      const letters = await app.bus.listDeadLetters();
      const found = letters.find((l) => l.eventId === confirmed.bus.id);
      expect(found).toMatchObject({ subscription: 'inventory.settle-reservations' });
      return found!;
    });
    expect(letter.error).toContain('no longer has the units');
    expect(await reservationOf(app.runtime, orderId)).toMatchObject({ status: 'EXPIRED' });
  });
});
