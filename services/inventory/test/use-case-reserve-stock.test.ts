import { describe, expect, test } from 'vitest';
import { reserveStock } from '../src/use-cases/reserve-stock.js';
import { inMemoryInventoryStore } from './in-memory-inventory-store.js';

const now = new Date('2030-01-01T00:00:00Z');
const reservationTtlMs = 60_000;

describe('reserveStock', () => {
  test('when a run reserves one order and rejects another, then both reservations are written in one call and only the reserved units move', async () => {
    // Arrange
    const { store, calls } = inMemoryInventoryStore({
      products: [{ sku: 'SKU-A', priceCents: 250n, currency: 'EUR', available: 3 }],
    });

    // Act
    const outcomes = await reserveStock(
      store,
      [
        { orderId: 'order-1', lines: [{ sku: 'SKU-A', quantity: 2 }] },
        { orderId: 'order-2', lines: [{ sku: 'SKU-A', quantity: 2 }] },
      ],
      now,
      reservationTtlMs,
    );

    // Assert
    const expiresAt = new Date(now.getTime() + reservationTtlMs);
    expect(outcomes).toEqual([
      {
        kind: 'reserved',
        orderId: 'order-1',
        reservationId: expect.any(String) as unknown,
        lines: [{ sku: 'SKU-A', quantity: 2, unitPriceCents: 250n }],
        totalCents: 500n,
        currency: 'EUR',
        expiresAt,
      },
      { kind: 'rejected', orderId: 'order-2', reason: 'OUT_OF_STOCK', skus: ['SKU-A'] },
    ]);
    expect(calls.writes).toEqual([
      {
        inserts: [
          {
            id: expect.any(String) as unknown,
            orderId: 'order-1',
            status: 'RESERVED',
            createdAt: now,
            expiresAt,
            lines: [{ sku: 'SKU-A', quantity: 2, unitPriceCents: 250n }],
          },
          {
            id: expect.any(String) as unknown,
            orderId: 'order-2',
            status: 'REJECTED',
            createdAt: now,
            settledAt: now,
          },
        ],
        transitions: [],
      },
    ]);
    expect(calls.movements).toEqual([[{ sku: 'SKU-A', available: -2, reserved: 2, sold: 0 }]]);
  });

  test('when an order of the run already has a reservation, then its stock is not locked and nothing is written for it', async () => {
    // Arrange
    const { store, calls } = inMemoryInventoryStore({
      products: [
        { sku: 'SKU-A', priceCents: 100n, currency: 'EUR', available: 5 },
        { sku: 'SKU-B', priceCents: 100n, currency: 'EUR', available: 5 },
      ],
      reservations: [
        { id: 'reservation-1', orderId: 'reserved', status: 'RESERVED', lines: [] },
        { id: 'reservation-2', orderId: 'cancelled', status: 'CANCELLED', lines: [] },
      ],
    });

    // Act
    const outcomes = await reserveStock(
      store,
      [
        { orderId: 'reserved', lines: [{ sku: 'SKU-A', quantity: 1 }] },
        { orderId: 'cancelled', lines: [{ sku: 'SKU-A', quantity: 1 }] },
        { orderId: 'new', lines: [{ sku: 'SKU-B', quantity: 1 }] },
      ],
      now,
      reservationTtlMs,
    );

    // Assert
    expect(outcomes.map((o) => o.kind)).toEqual([
      'already-reserved',
      'already-settled',
      'reserved',
    ]);
    expect(outcomes[1]).toMatchObject({ status: 'CANCELLED' });
    expect(calls.lockedSkus).toEqual([['SKU-B']]);
    expect(calls.writes.flatMap((w) => w.inserts.map((r) => r.orderId))).toEqual(['new']);
    expect(calls.movements).toEqual([[{ sku: 'SKU-B', available: -1, reserved: 1, sold: 0 }]]);
  });
});
