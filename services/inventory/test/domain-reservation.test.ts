import { describe, expect, test } from 'vitest';
import {
  canTransition,
  decideRepeatedOrderPlaced,
  decideReservation,
  decideReservations,
  decideSettlement,
  decideSettlements,
  mergeOrderLines,
  reservationExpiresAt,
  reservationStatuses,
  reservationTtlProblem,
  type ReservableProduct,
} from '../src/domain/reservation.js';

function catalog(...products: ReservableProduct[]): Map<string, ReservableProduct> {
  return new Map(products.map((p) => [p.sku, p]));
}

const coffee: ReservableProduct = {
  sku: 'SKU-COFFEE',
  priceCents: 2490n,
  currency: 'EUR',
  available: 10,
};
const mug: ReservableProduct = { sku: 'SKU-MUG', priceCents: 1200n, currency: 'EUR', available: 2 };

describe('decideReservation', () => {
  test('when every line is in stock, then all lines are reserved at the current price with their total', () => {
    const decision = decideReservation(
      [
        { sku: 'SKU-MUG', quantity: 2 },
        { sku: 'SKU-COFFEE', quantity: 3 },
      ],
      catalog(coffee, mug),
    );
    expect(decision).toEqual({
      outcome: 'reserved',
      lines: [
        { sku: 'SKU-COFFEE', quantity: 3, unitPriceCents: 2490n },
        { sku: 'SKU-MUG', quantity: 2, unitPriceCents: 1200n },
      ],
      totalCents: 3n * 2490n + 2n * 1200n,
      currency: 'EUR',
    });
  });

  test('when an order repeats a SKU, then its lines are merged before checking the stock', () => {
    const decision = decideReservation(
      [
        { sku: 'SKU-MUG', quantity: 1 },
        { sku: 'SKU-MUG', quantity: 2 },
      ],
      catalog(mug),
    );
    expect(decision).toEqual({ outcome: 'rejected', reason: 'OUT_OF_STOCK', skus: ['SKU-MUG'] });
  });

  test('when one line is short, then nothing is reserved and the short SKU is named', () => {
    const decision = decideReservation(
      [
        { sku: 'SKU-COFFEE', quantity: 1 },
        { sku: 'SKU-MUG', quantity: 3 },
      ],
      catalog(coffee, mug),
    );
    expect(decision).toEqual({ outcome: 'rejected', reason: 'OUT_OF_STOCK', skus: ['SKU-MUG'] });
  });

  test('when a SKU is unknown, then the reason is UNKNOWN_SKU and every failing SKU is named', () => {
    const decision = decideReservation(
      [
        { sku: 'SKU-NOPE', quantity: 1 },
        { sku: 'SKU-MUG', quantity: 5 },
        { sku: 'SKU-COFFEE', quantity: 1 },
      ],
      catalog(coffee, mug),
    );
    expect(decision).toEqual({
      outcome: 'rejected',
      reason: 'UNKNOWN_SKU',
      skus: ['SKU-MUG', 'SKU-NOPE'],
    });
  });

  test('when a quantity is zero or negative, then the order is rejected as INVALID_LINES', () => {
    expect(
      decideReservation(
        [
          { sku: 'SKU-COFFEE', quantity: 0 },
          { sku: 'SKU-MUG', quantity: -1 },
        ],
        catalog(coffee, mug),
      ),
    ).toEqual({ outcome: 'rejected', reason: 'INVALID_LINES', skus: ['SKU-COFFEE', 'SKU-MUG'] });
  });

  test('when an order has no lines, then it is rejected as INVALID_LINES', () => {
    expect(decideReservation([], catalog(coffee))).toEqual({
      outcome: 'rejected',
      reason: 'INVALID_LINES',
      skus: [],
    });
  });

  test('when a line takes exactly the available stock, then it is reserved', () => {
    expect(decideReservation([{ sku: 'SKU-MUG', quantity: 2 }], catalog(mug)).outcome).toBe(
      'reserved',
    );
  });

  test('when a product is priced in another currency than the order, then nothing is reserved (CURRENCY_MISMATCH)', () => {
    const dollars: ReservableProduct = { ...mug, sku: 'SKU-USD', currency: 'USD' };
    expect(decideReservation([{ sku: 'SKU-USD', quantity: 1 }], catalog(dollars), 'EUR')).toEqual({
      outcome: 'rejected',
      reason: 'CURRENCY_MISMATCH',
      skus: ['SKU-USD'],
    });
    // Without an order currency the products must agree among themselves.
    expect(
      decideReservation(
        [
          { sku: 'SKU-MUG', quantity: 1 },
          { sku: 'SKU-USD', quantity: 1 },
        ],
        new Map([
          [mug.sku, mug],
          [dollars.sku, dollars],
        ]),
      ),
    ).toMatchObject({ outcome: 'rejected', reason: 'CURRENCY_MISMATCH', skus: ['SKU-USD'] });
    expect(decideReservation([{ sku: 'SKU-USD', quantity: 1 }], catalog(dollars))).toMatchObject({
      outcome: 'reserved',
      currency: 'USD',
    });
  });

  test('when prices are large, then the total is exact', () => {
    const pricey: ReservableProduct = {
      sku: 'SKU-GOLD',
      priceCents: 2n ** 53n + 1n,
      currency: 'EUR',
      available: 1000,
    };
    const decision = decideReservation([{ sku: 'SKU-GOLD', quantity: 1000 }], catalog(pricey));
    expect(decision).toMatchObject({ outcome: 'reserved', totalCents: (2n ** 53n + 1n) * 1000n });
  });
});

describe('mergeOrderLines', () => {
  test('when SKUs repeat, then there is one line per SKU in SKU order with quantities added', () => {
    expect(
      mergeOrderLines([
        { sku: 'B', quantity: 1 },
        { sku: 'A', quantity: 2 },
        { sku: 'B', quantity: 4 },
      ]),
    ).toEqual([
      { sku: 'A', quantity: 2 },
      { sku: 'B', quantity: 5 },
    ]);
  });
});

describe('reservation status transitions', () => {
  test('when a reservation is RESERVED, then it may become CONFIRMED, CANCELLED or EXPIRED only', () => {
    const allowed = reservationStatuses.filter((to) => canTransition('RESERVED', to));
    expect(allowed).toEqual(['CONFIRMED', 'CANCELLED', 'EXPIRED']);
  });

  test('when a reservation is confirmed, then it may only be RETURNED (its order cancelled by the customer)', () => {
    expect(reservationStatuses.filter((to) => canTransition('CONFIRMED', to))).toEqual([
      'RETURNED',
    ]);
  });

  test('when a reservation is cancelled, rejected or returned, then no transition is allowed', () => {
    for (const from of ['CANCELLED', 'REJECTED', 'RETURNED'] as const) {
      for (const to of reservationStatuses)
        expect(canTransition(from, to), `${from} → ${to}`).toBe(false);
    }
  });

  test('when a legacy reservation is EXPIRED, then it may only become CONFIRMED', () => {
    expect(reservationStatuses.filter((to) => canTransition('EXPIRED', to))).toEqual(['CONFIRMED']);
  });
});

describe('decideRepeatedOrderPlaced', () => {
  test('when the order holds a live or confirmed reservation, then a repeated OrderPlaced is ignored', () => {
    expect(decideRepeatedOrderPlaced('RESERVED')).toBe('ignore');
    expect(decideRepeatedOrderPlaced('CONFIRMED')).toBe('ignore');
    expect(decideRepeatedOrderPlaced('RETURNED')).toBe('ignore');
  });

  test('when the order was cancelled, expired or rejected, then a repeated OrderPlaced is rejected', () => {
    expect(decideRepeatedOrderPlaced('CANCELLED')).toBe('reject');
    expect(decideRepeatedOrderPlaced('EXPIRED')).toBe('reject');
    expect(decideRepeatedOrderPlaced('REJECTED')).toBe('reject');
  });
});

describe('decideSettlement', () => {
  test('when an order is confirmed, then a RESERVED (or legacy EXPIRED) reservation is confirmed', () => {
    expect(decideSettlement('confirmed', 'RESERVED')).toBe('confirm');
    expect(decideSettlement('confirmed', 'CONFIRMED')).toBe('ignore');
    expect(decideSettlement('confirmed', 'RETURNED')).toBe('ignore');
    expect(decideSettlement('confirmed', 'EXPIRED')).toBe('confirm-expired');
    expect(decideSettlement('confirmed', 'CANCELLED')).toBe('unexpected');
    expect(decideSettlement('confirmed', 'REJECTED')).toBe('unexpected');
    expect(decideSettlement('confirmed', undefined)).toBe('unexpected');
  });

  test('when an order is cancelled, then a RESERVED reservation is released and a missing one becomes a tombstone', () => {
    expect(decideSettlement('cancelled', 'RESERVED')).toBe('release');
    expect(decideSettlement('cancelled', undefined)).toBe('record-tombstone');
    expect(decideSettlement('cancelled', 'CANCELLED')).toBe('ignore');
    expect(decideSettlement('cancelled', 'EXPIRED')).toBe('ignore');
    expect(decideSettlement('cancelled', 'REJECTED')).toBe('ignore');
    expect(decideSettlement('cancelled', 'RETURNED')).toBe('ignore');
  });

  test('when a confirmed order is cancelled (by its customer), then its reservation is returned', () => {
    expect(decideSettlement('cancelled', 'CONFIRMED')).toBe('return');
  });
});

/** Ids r1, r2, … in the order they are asked for. */
function sequentialIds(): () => string {
  let next = 0;
  return () => `r${++next}`;
}

describe('decideReservations', () => {
  test('when orders of one run compete for the stock, then they take it in delivery order', () => {
    const steps = decideReservations(
      [
        { orderId: 'o1', lines: [{ sku: 'SKU-MUG', quantity: 2 }] },
        { orderId: 'o2', lines: [{ sku: 'SKU-MUG', quantity: 1 }] },
        { orderId: 'o3', lines: [{ sku: 'SKU-COFFEE', quantity: 10 }] },
      ],
      new Map(),
      catalog(coffee, mug),
      sequentialIds(),
    );
    expect(steps).toEqual([
      {
        kind: 'decided',
        reservationId: 'r1',
        decision: expect.objectContaining({ outcome: 'reserved' }) as unknown,
      },
      {
        kind: 'decided',
        reservationId: 'r2',
        decision: { outcome: 'rejected', reason: 'OUT_OF_STOCK', skus: ['SKU-MUG'] },
      },
      {
        kind: 'decided',
        reservationId: 'r3',
        decision: expect.objectContaining({ outcome: 'reserved' }) as unknown,
      },
    ]);
  });

  test('when a rejected order would have fitted, then its stock stays for the next order of the run', () => {
    const steps = decideReservations(
      [
        {
          orderId: 'o1',
          lines: [
            { sku: 'SKU-MUG', quantity: 1 },
            { sku: 'SKU-NOPE', quantity: 1 },
          ],
        },
        { orderId: 'o2', lines: [{ sku: 'SKU-MUG', quantity: 2 }] },
      ],
      new Map(),
      catalog(mug),
      sequentialIds(),
    );
    expect(steps.map((s) => (s.kind === 'decided' ? s.decision.outcome : s.kind))).toEqual([
      'rejected',
      'reserved',
    ]);
  });

  test('when an order repeats within the run or already has a reservation, then the repeated-OrderPlaced rules apply', () => {
    const steps = decideReservations(
      [
        { orderId: 'o1', lines: [{ sku: 'SKU-MUG', quantity: 1 }] },
        { orderId: 'o1', lines: [{ sku: 'SKU-MUG', quantity: 1 }] },
        { orderId: 'o2', lines: [{ sku: 'SKU-MUG', quantity: 1 }] },
        { orderId: 'o3', lines: [{ sku: 'SKU-MUG', quantity: 1 }] },
      ],
      new Map([
        ['o2', { id: 'old-2', status: 'CANCELLED' as const }],
        ['o3', { id: 'old-3', status: 'CONFIRMED' as const }],
      ]),
      catalog(mug),
      sequentialIds(),
    );
    expect(steps).toEqual([
      expect.objectContaining({ kind: 'decided', reservationId: 'r1' }),
      { kind: 'ignore', reservationId: 'r1' },
      { kind: 'already-settled', status: 'CANCELLED' },
      { kind: 'ignore', reservationId: 'old-3' },
    ]);
  });
});

describe('decideSettlements', () => {
  const held = (id: string, status: 'RESERVED' | 'EXPIRED', quantity = 2) => ({
    id,
    status,
    lines: [{ sku: 'SKU-MUG', quantity }],
  });

  test('when a run confirms, cancels and cancels again, then each order is settled once in delivery order', () => {
    const steps = decideSettlements(
      [
        { orderId: 'o1', outcome: 'confirmed' },
        { orderId: 'o2', outcome: 'cancelled' },
        { orderId: 'o2', outcome: 'cancelled' },
        { orderId: 'o3', outcome: 'cancelled' },
        { orderId: 'o3', outcome: 'confirmed' },
      ],
      new Map([
        ['o1', held('r1', 'RESERVED')],
        ['o2', held('r2', 'RESERVED')],
      ]),
      new Map(),
      sequentialIds(),
    );
    expect(steps).toEqual([
      {
        action: 'confirm',
        reservationId: 'r1',
        from: 'RESERVED',
        to: 'CONFIRMED',
        lines: held('r1', 'RESERVED').lines,
      },
      {
        action: 'release',
        reservationId: 'r2',
        from: 'RESERVED',
        to: 'CANCELLED',
        lines: held('r2', 'RESERVED').lines,
      },
      { action: 'ignore', status: 'CANCELLED' },
      { action: 'record-tombstone', reservationId: 'r1' },
      { action: 'unexpected', status: 'CANCELLED' },
    ]);
  });

  test('when a legacy EXPIRED reservation is confirmed, then units released earlier in the run count as available', () => {
    const reservations = new Map([
      ['o1', held('r1', 'RESERVED', 2)],
      ['o2', held('r2', 'EXPIRED', 3)],
    ]);
    const confirmBoth = [
      { orderId: 'o2', outcome: 'confirmed' as const },
      { orderId: 'o1', outcome: 'cancelled' as const },
      { orderId: 'o2', outcome: 'confirmed' as const },
    ];

    const steps = decideSettlements(
      confirmBoth,
      reservations,
      new Map([['SKU-MUG', 1]]),
      sequentialIds(),
    );

    expect(steps.map((s) => s.action)).toEqual(['expired-short', 'release', 'confirm-expired']);
  });
});

describe('reservationExpiresAt', () => {
  test('when a reservation is made, then it expires one TTL later', () => {
    expect(reservationExpiresAt(new Date('2025-01-01T00:00:00Z'), 60_000)).toEqual(
      new Date('2025-01-01T00:01:00Z'),
    );
  });
});

describe('reservationTtlProblem', () => {
  test('when the TTL is above the saga timeout plus one sweep interval, then there is no problem', () => {
    expect(
      reservationTtlProblem({
        reservationTtlMs: 31_001,
        sagaTimeoutMs: 30_000,
        sagaSweepIntervalMs: 1000,
      }),
    ).toBeUndefined();
  });

  test('when the TTL is not above the saga timeout plus one sweep interval, then the rule names both keys and values', () => {
    expect(
      reservationTtlProblem({
        reservationTtlMs: 31_000,
        sagaTimeoutMs: 30_000,
        sagaSweepIntervalMs: 1000,
      }),
    ).toBe(
      'must be greater than services.order.sagaTimeoutMs (30000) + services.order.sagaSweepIntervalMs (1000) = 31000',
    );
  });
});
