import { eventually } from '@orderly/platform/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { StockReservedSchema } from '../gen/inventory/v1/inventory_events_pb.js';
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

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp({
    service: { reservationTtlMs: 200, expirySweepIntervalMs: 50, expirySweepBatchSize: 2 },
  });
});
afterAll(async () => {
  await app.stop();
});

describe('reservation expiry', () => {
  test('when reservations outlive their TTL, then they expire and their stock is available again', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    // More reservations than one sweep batch, so the sweep has to take several.
    const events = Array.from({ length: 5 }, () => orderPlaced([{ sku, quantity: 2 }]));

    await Promise.all(events.map((event) => app.bus.publish([event.bus])));

    await eventually(() =>
      expect(
        app.recorder
          .of(StockReservedSchema)
          .filter((e) => events.some((p) => p.message.orderId === e.orderId)),
      ).toHaveLength(5),
    );
    await eventually(async () =>
      expect(await stockOf(app.client, sku)).toEqual({ available: 10, reserved: 0 }),
    );
    for (const event of events) {
      expect(await reservationOf(app.runtime, event.message.orderId)).toMatchObject({
        status: 'EXPIRED',
      });
    }
    expect((await conservationReport(app.runtime)).find((r) => r.sku === sku)).toMatchObject({
      sold: 0,
      ledger: 10,
    });
  });

  test('when an order is confirmed after its reservation expired, then nothing is sold and a warning names the order', async () => {
    const sku = await aProduct(app.client, { stock: 5 });
    const placed = orderPlaced([{ sku, quantity: 1 }]);
    const { orderId } = placed.message;
    await app.bus.publish([placed.bus]);
    await eventually(async () =>
      expect(await reservationOf(app.runtime, orderId)).toMatchObject({ status: 'EXPIRED' }),
    );

    await app.bus.publish([orderConfirmed(orderId).bus]);

    expect(app.logLines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        orderId,
        msg: 'order confirmed after its reservation expired',
      }),
    );
    expect((await conservationReport(app.runtime)).find((r) => r.sku === sku)).toEqual({
      sku,
      available: 5,
      reserved: 0,
      sold: 0,
      ledger: 5,
    });
  });
});
