import { randomUUID } from 'node:crypto';
import { eventually } from '@orderly/platform/testing';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
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
  poison,
  reservationOf,
  startTestApp,
  stockOf,
  type TestApp,
} from './test-app.js';

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(async () => {
  await app.stop();
});

/** A product with `stock` units and an order holding `quantity` of them. */
async function aReservedOrder(
  stock: number,
  quantity: number,
): Promise<{ sku: string; orderId: string; reservationId: string }> {
  const sku = await aProduct(app.client, { stock });
  const event = orderPlaced([{ sku, quantity }]);
  await app.bus.publish([event.bus]);
  const reserved = await eventually(() => {
    const found = app.recorder
      .of(StockReservedSchema)
      .find((e) => e.orderId === event.message.orderId);
    expect(found).toBeDefined();
    return found!;
  });
  return { sku, orderId: event.message.orderId, reservationId: reserved.reservationId };
}

async function ledgerOf(sku: string) {
  return (await conservationReport(app.runtime)).find((r) => r.sku === sku);
}

describe('inventory.settle-reservations', () => {
  test('when the order is confirmed, then the reserved units are sold and the reservation is CONFIRMED', async () => {
    const { sku, orderId, reservationId } = await aReservedOrder(10, 3);

    await app.bus.publish([orderConfirmed(orderId, reservationId).bus]);

    expect(await reservationOf(app.runtime, orderId)).toMatchObject({ status: 'CONFIRMED' });
    expect(await ledgerOf(sku)).toEqual({ sku, available: 7, reserved: 0, sold: 3, ledger: 10 });
  });

  test('when the order is cancelled, then the reserved units are available again', async () => {
    const { sku, orderId, reservationId } = await aReservedOrder(10, 3);

    await app.bus.publish([orderCancelled(orderId, reservationId).bus]);

    expect(await reservationOf(app.runtime, orderId)).toMatchObject({ status: 'CANCELLED' });
    expect(await ledgerOf(sku)).toEqual({ sku, available: 10, reserved: 0, sold: 0, ledger: 10 });
  });

  test('when a confirmed order is cancelled by its customer, then the sold units are available again and the reservation is RETURNED, once', async () => {
    const { sku, orderId } = await aReservedOrder(10, 2);
    await app.bus.publish([orderConfirmed(orderId).bus]);

    await app.bus.publish([orderCancelled(orderId).bus]);
    await app.bus.publish([orderCancelled(orderId).bus]);

    expect(await reservationOf(app.runtime, orderId)).toMatchObject({ status: 'RETURNED' });
    expect(await ledgerOf(sku)).toEqual({ sku, available: 10, reserved: 0, sold: 0, ledger: 10 });
  });

  test('when the cancellation of a confirmed order arrives before its confirmation, then the stock is released once and the late confirmation sells nothing', async () => {
    const { sku, orderId } = await aReservedOrder(10, 2);

    await app.bus.publish([orderCancelled(orderId).bus]);
    await app.bus.publish([orderConfirmed(orderId).bus]);

    expect(await reservationOf(app.runtime, orderId)).toMatchObject({ status: 'CANCELLED' });
    expect(await ledgerOf(sku)).toEqual({ sku, available: 10, reserved: 0, sold: 0, ledger: 10 });
    expect(app.logLines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        orderId,
        msg: 'settlement does not match the reservation, left unchanged',
      }),
    );
  });

  test('when an order is cancelled before it was reserved, then a late OrderPlaced reserves nothing and is rejected', async () => {
    const sku = await aProduct(app.client, { stock: 10 });
    const orderId = randomUUID();

    await app.bus.publish([orderCancelled(orderId).bus]);
    expect(await reservationOf(app.runtime, orderId)).toMatchObject({
      status: 'CANCELLED',
      lines: 0,
    });
    await app.bus.publish([orderPlaced([{ sku, quantity: 2 }], orderId).bus]);

    const rejected = await eventually(() => {
      const found = app.recorder.of(StockRejectedSchema).find((e) => e.orderId === orderId);
      expect(found).toBeDefined();
      return found!;
    });
    expect(rejected.reason).toBe('ORDER_ALREADY_SETTLED');
    expect(await stockOf(app.client, sku)).toEqual({ available: 10, reserved: 0 });
    expect(app.recorder.of(StockReservedSchema).filter((e) => e.orderId === orderId)).toHaveLength(
      0,
    );
  });

  test('when a cancellation arrives twice under different event ids, then the stock is released once', async () => {
    const { sku, orderId } = await aReservedOrder(10, 4);

    await app.bus.publish([orderCancelled(orderId).bus]);
    await app.bus.publish([orderCancelled(orderId).bus]);

    expect(await ledgerOf(sku)).toEqual({ sku, available: 10, reserved: 0, sold: 0, ledger: 10 });
  });

  test('when the payload cannot be decoded, then the message goes to the dead letters', async () => {
    const message = poison('events.order.v1.OrderCancelled', 'order.v1.OrderCancelled');

    await app.bus.publish([message]);

    expect(await app.bus.listDeadLetters()).toContainEqual(
      expect.objectContaining({
        subscription: 'inventory.settle-reservations',
        eventId: message.id,
      }),
    );
  });

  test('when one confirmation event id is delivered twice, then the units are sold once', async () => {
    const { sku, orderId } = await aReservedOrder(10, 3);
    const confirmed = orderConfirmed(orderId);

    await app.bus.publish([confirmed.bus]);
    await app.bus.publish([confirmed.bus]);

    expect(app.logLines).toContainEqual(
      expect.objectContaining({
        msg: 'duplicate event skipped',
        eventId: confirmed.message.eventId,
      }),
    );
    expect(await ledgerOf(sku)).toEqual({ sku, available: 7, reserved: 0, sold: 3, ledger: 10 });
  });
});
