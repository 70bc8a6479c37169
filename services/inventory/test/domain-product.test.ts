import { AppError } from '@orderly/platform';
import { describe, expect, test } from 'vitest';
import {
  applyStockAdjustment,
  confirmMovement,
  releaseMovement,
  reserveMovement,
  validateProductInput,
} from '../src/domain/product.js';

function errorOf(work: () => unknown): AppError {
  try {
    work();
  } catch (error) {
    if (error instanceof AppError) return error;
    throw error;
  }
  throw new Error('expected an AppError');
}

describe('validateProductInput', () => {
  test('when the product is valid, then it is returned with its name trimmed', () => {
    expect(validateProductInput({ sku: 'SKU-1', name: '  Mug ', priceCents: 0n })).toEqual({
      sku: 'SKU-1',
      name: 'Mug',
      priceCents: 0n,
    });
  });

  test.each([
    ['a lower-case sku', { sku: 'sku-1', name: 'Mug', priceCents: 1n }],
    ['an empty sku', { sku: '', name: 'Mug', priceCents: 1n }],
    ['a 33-character sku', { sku: 'A'.repeat(33), name: 'Mug', priceCents: 1n }],
    ['a blank name', { sku: 'SKU-1', name: '   ', priceCents: 1n }],
    ['a 201-character name', { sku: 'SKU-1', name: 'n'.repeat(201), priceCents: 1n }],
    ['a negative price', { sku: 'SKU-1', name: 'Mug', priceCents: -1n }],
  ])('when given %s, then it is refused as INVENTORY_INVALID_PRODUCT', (_what, input) => {
    const error = errorOf(() => validateProductInput(input));
    expect(error.code).toBe('INVENTORY_INVALID_PRODUCT');
    expect(error.kind).toBe('invalid');
  });

  test('when the sku is 32 characters and the name 200, then it is accepted', () => {
    expect(() =>
      validateProductInput({ sku: 'A'.repeat(32), name: 'n'.repeat(200), priceCents: 5n }),
    ).not.toThrow();
  });
});

describe('applyStockAdjustment', () => {
  test('when the delta keeps stock at zero or more, then the new available stock is returned', () => {
    expect(applyStockAdjustment({ sku: 'SKU-1', available: 5 }, -5)).toBe(0);
    expect(applyStockAdjustment({ sku: 'SKU-1', available: 5 }, 3)).toBe(8);
  });

  test('when the delta would make stock negative, then it is refused as a conflict', () => {
    const error = errorOf(() => applyStockAdjustment({ sku: 'SKU-1', available: 5 }, -6));
    expect(error.code).toBe('INVENTORY_STOCK_WOULD_GO_NEGATIVE');
    expect(error.kind).toBe('conflict');
  });

  test('when the delta is zero, then it is refused as invalid', () => {
    expect(errorOf(() => applyStockAdjustment({ sku: 'SKU-1', available: 5 }, 0)).code).toBe(
      'INVENTORY_INVALID_STOCK_ADJUSTMENT',
    );
  });

  test('when the stock would overflow a 32-bit count, then it is refused as invalid', () => {
    expect(
      errorOf(() => applyStockAdjustment({ sku: 'SKU-1', available: 2 ** 31 - 1 }, 1)).code,
    ).toBe('INVENTORY_INVALID_STOCK_ADJUSTMENT');
  });
});

describe('stock movements', () => {
  test('when stock is reserved, confirmed or released, then the units move between counters and their sum is kept', () => {
    for (const movement of [
      reserveMovement('S', 4),
      confirmMovement('S', 4),
      releaseMovement('S', 4),
    ]) {
      expect(movement.available + movement.reserved + movement.sold).toBe(0);
    }
    expect(reserveMovement('S', 4)).toEqual({ sku: 'S', available: -4, reserved: 4, sold: 0 });
    expect(confirmMovement('S', 4)).toEqual({ sku: 'S', available: 0, reserved: -4, sold: 4 });
    expect(releaseMovement('S', 4)).toEqual({ sku: 'S', available: 4, reserved: -4, sold: 0 });
  });
});
