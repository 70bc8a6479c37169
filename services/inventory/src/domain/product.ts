import {
  invalidProduct,
  invalidStockAdjustment,
  stockWouldGoNegative,
} from './inventory-errors.js';

/**
 * A product of the catalog and its stock. `available` can be reserved, `reserved` is held by
 * RESERVED reservations, `sold` left with confirmed orders. None of them ever goes below zero, and
 * `available + reserved + sold` equals the sum of the product's stock adjustments.
 */
export interface Product {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: bigint;
  /** The ISO 4217 code `priceCents` is in (minor units of it). */
  readonly currency: string;
  readonly available: number;
  readonly reserved: number;
  readonly sold: number;
}

export interface ProductInput {
  readonly sku: string;
  readonly name: string;
  readonly priceCents: bigint;
  /** Undefined keeps the product's currency (a new product gets the catalog's default, EUR). */
  readonly currency?: string | undefined;
}

const currencyPattern = /^[A-Z]{3}$/;

/** An ISO 4217 code as the contracts carry it: three capital letters. */
export function isCurrencyCode(value: string): boolean {
  return currencyPattern.test(value);
}

const skuPattern = /^[A-Z0-9-]{1,32}$/;
const nameLengthRange = { from: 1, to: 200 } as const;
/** Stock counts are 32-bit integers in the database and on the wire. */
const largestStockCount = 2 ** 31 - 1;
/** Prices are 64-bit integers in the database and on the wire. */
const largestPriceCents = 2n ** 63n - 1n;

export function isValidSku(sku: string): boolean {
  return skuPattern.test(sku);
}

/** Checks a product as given by an operator; returns it with its name trimmed. */
export function validateProductInput(input: ProductInput): ProductInput {
  const problems: string[] = [];
  if (!isValidSku(input.sku)) problems.push('sku must be 1 to 32 of A-Z, 0-9 and -');
  const name = input.name.trim();
  const nameLength = [...name].length;
  if (nameLength < nameLengthRange.from || nameLength > nameLengthRange.to) {
    problems.push(`name must be ${nameLengthRange.from} to ${nameLengthRange.to} characters`);
  }
  if (input.priceCents < 0n || input.priceCents > largestPriceCents) {
    problems.push('price_cents must be zero or more');
  }
  if (input.currency !== undefined && !isCurrencyCode(input.currency))
    problems.push('currency must be an ISO 4217 code (three capital letters)');
  if (problems.length > 0) throw invalidProduct(problems);
  return { sku: input.sku, name, priceCents: input.priceCents, currency: input.currency };
}

/** The available stock after an operator's adjustment; refuses to go below zero. */
export function applyStockAdjustment(
  product: Pick<Product, 'sku' | 'available'>,
  delta: number,
): number {
  if (!Number.isInteger(delta) || delta === 0)
    throw invalidStockAdjustment(['delta must be a non-zero integer']);
  const next = product.available + delta;
  if (next < 0) throw stockWouldGoNegative(product.sku, product.available, delta);
  if (next > largestStockCount)
    throw invalidStockAdjustment([`available stock cannot exceed ${largestStockCount}`]);
  return next;
}

/** A change of a product's counters, applied atomically by the repository. */
export interface StockMovement {
  readonly sku: string;
  readonly available: number;
  readonly reserved: number;
  readonly sold: number;
}

/** Reserve: available −q, reserved +q. */
export const reserveMovement = (sku: string, quantity: number): StockMovement => ({
  sku,
  available: -quantity,
  reserved: quantity,
  sold: 0,
});

/** Confirm: the reserved units leave as sold. */
export const confirmMovement = (sku: string, quantity: number): StockMovement => ({
  sku,
  available: 0,
  reserved: -quantity,
  sold: quantity,
});

/** Cancel or expire: the reserved units can be reserved again. */
export const releaseMovement = (sku: string, quantity: number): StockMovement => ({
  sku,
  available: quantity,
  reserved: -quantity,
  sold: 0,
});

/** Return: the customer cancelled a confirmed order; its sold units can be reserved again. */
export const returnMovement = (sku: string, quantity: number): StockMovement => ({
  sku,
  available: quantity,
  reserved: 0,
  sold: -quantity,
});

/** Confirm a legacy EXPIRED reservation: its released units are taken from available and sold. */
export const retakeMovement = (sku: string, quantity: number): StockMovement => ({
  sku,
  available: -quantity,
  reserved: 0,
  sold: quantity,
});
