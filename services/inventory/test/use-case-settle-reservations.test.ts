import { describe, expect, test } from 'vitest';
import { settleReservations } from '../src/use-cases/settle-reservations.js';
import { inMemoryInventoryStore } from './in-memory-inventory-store.js';

const now = new Date('2030-01-01T00:00:00Z');

describe('settleReservations', () => {
  test('when a run confirms one order, cancels another and cancels one never reserved, then one write holds both transitions and the tombstone', async () => {
    // Arrange
    const { store, calls } = inMemoryInventoryStore({
      products: [{ sku: 'SKU-A', priceCents: 100n, currency: 'EUR', available: 0 }],
      reservations: [
        {
          id: 'reservation-1',
          orderId: 'confirmed',
          status: 'RESERVED',
          lines: [{ sku: 'SKU-A', quantity: 2 }],
        },
        {
          id: 'reservation-2',
          orderId: 'cancelled',
          status: 'RESERVED',
          lines: [{ sku: 'SKU-A', quantity: 1 }],
        },
        { id: 'reservation-3', orderId: 'rejected', status: 'REJECTED', lines: [] },
      ],
    });

    // Act
    const outcomes = await settleReservations(
      store,
      [
        { orderId: 'confirmed', outcome: 'confirmed' },
        { orderId: 'cancelled', outcome: 'cancelled' },
        { orderId: 'never-reserved', outcome: 'cancelled' },
        { orderId: 'rejected', outcome: 'cancelled' },
      ],
      now,
    );

    // Assert
    expect(outcomes.map((o) => o.action)).toEqual([
      'confirm',
      'release',
      'record-tombstone',
      'ignore',
    ]);
    expect(calls.writes).toEqual([
      {
        inserts: [
          {
            id: expect.any(String) as unknown,
            orderId: 'never-reserved',
            status: 'CANCELLED',
            createdAt: now,
            settledAt: now,
          },
        ],
        transitions: [
          { id: 'reservation-1', orderId: 'confirmed', from: 'RESERVED', to: 'CONFIRMED' },
          { id: 'reservation-2', orderId: 'cancelled', from: 'RESERVED', to: 'CANCELLED' },
        ],
      },
    ]);
    expect(calls.movements).toEqual([
      [
        { sku: 'SKU-A', available: 0, reserved: -2, sold: 2 },
        { sku: 'SKU-A', available: 1, reserved: -1, sold: 0 },
      ],
    ]);
  });

  test('when a legacy EXPIRED reservation is confirmed after its units were sold, then the run fails with INVENTORY_EXPIRED_RESERVATION_SHORT and writes nothing', async () => {
    // Arrange
    const { store, calls } = inMemoryInventoryStore({
      products: [{ sku: 'SKU-A', priceCents: 100n, currency: 'EUR', available: 1 }],
      reservations: [
        {
          id: 'reservation-1',
          orderId: 'cancelled',
          status: 'RESERVED',
          lines: [{ sku: 'SKU-A', quantity: 1 }],
        },
        {
          id: 'reservation-2',
          orderId: 'expired',
          status: 'EXPIRED',
          lines: [{ sku: 'SKU-A', quantity: 3 }],
        },
      ],
    });

    // Act
    const settling = settleReservations(
      store,
      [
        { orderId: 'cancelled', outcome: 'cancelled' },
        { orderId: 'expired', outcome: 'confirmed' },
      ],
      now,
    );

    // Assert
    await expect(settling).rejects.toMatchObject({ code: 'INVENTORY_EXPIRED_RESERVATION_SHORT' });
    expect(calls.writes).toEqual([]);
    expect(calls.movements).toEqual([]);
  });

  test('when a confirmed order is cancelled by its customer, then its reservation is RETURNED and the sold units are available again; a repeat changes nothing', async () => {
    // Arrange
    const { store, calls } = inMemoryInventoryStore({
      products: [{ sku: 'SKU-A', priceCents: 100n, currency: 'EUR', available: 0 }],
      reservations: [
        {
          id: 'reservation-1',
          orderId: 'returned',
          status: 'CONFIRMED',
          lines: [{ sku: 'SKU-A', quantity: 2 }],
        },
      ],
    });

    // Act
    const outcomes = await settleReservations(
      store,
      [
        { orderId: 'returned', outcome: 'cancelled' },
        { orderId: 'returned', outcome: 'cancelled' },
        { orderId: 'returned', outcome: 'confirmed' },
      ],
      now,
    );

    // Assert
    expect(outcomes.map((o) => o.action)).toEqual(['return', 'ignore', 'ignore']);
    expect(calls.writes).toEqual([
      {
        inserts: [],
        transitions: [
          { id: 'reservation-1', orderId: 'returned', from: 'CONFIRMED', to: 'RETURNED' },
        ],
      },
    ]);
    expect(calls.movements).toEqual([[{ sku: 'SKU-A', available: 2, reserved: 0, sold: -2 }]]);
  });
});
