import { AppError } from '@orderly/platform';

/** Every error the inventory service raises, with its stable code. */

export const invalidProduct = (problems: readonly string[]) =>
  new AppError('INVENTORY_INVALID_PRODUCT', `invalid product: ${problems.join('; ')}`, {
    kind: 'invalid',
    details: { problems },
  });

export const invalidStockAdjustment = (problems: readonly string[]) =>
  new AppError(
    'INVENTORY_INVALID_STOCK_ADJUSTMENT',
    `invalid stock adjustment: ${problems.join('; ')}`,
    {
      kind: 'invalid',
      details: { problems },
    },
  );

/** A page cursor that the product list did not give out (or that was altered). */
export const cursorInvalid = () =>
  new AppError('CURSOR_INVALID', 'the cursor is not one this list gave out', {
    kind: 'invalid',
    details: { field: 'cursor' },
  });

export const unknownSku = (sku: string) =>
  new AppError('INVENTORY_UNKNOWN_SKU', `product ${sku} does not exist`, { kind: 'not-found' });

export const stockWouldGoNegative = (sku: string, available: number, delta: number) =>
  new AppError(
    'INVENTORY_STOCK_WOULD_GO_NEGATIVE',
    `product ${sku} has ${available} available; a change of ${delta} would make it negative`,
    { kind: 'conflict', details: { sku, available, delta } },
  );

/** An event that can never be applied, whatever the retries: it goes to the dead letters at once. */
export const unusableEvent = (eventType: string, problem: string) =>
  new AppError('INVENTORY_UNUSABLE_EVENT', `${eventType} cannot be applied: ${problem}`, {
    kind: 'invalid',
    permanent: true,
  });

/** Another delivery created the order's reservation meanwhile; a retry sees it and decides again. */
export const reservationRace = (orderId: string) =>
  new AppError(
    'INVENTORY_RESERVATION_RACE',
    `the reservation of order ${orderId} was created concurrently`,
    {
      kind: 'conflict',
    },
  );

export const invalidReservationTransition = (reservationId: string, from: string, to: string) =>
  new AppError(
    'INVENTORY_INVALID_RESERVATION_TRANSITION',
    `reservation ${reservationId} cannot go from ${from} to ${to}`,
    { kind: 'internal' },
  );

/**
 * A legacy EXPIRED reservation's order was confirmed, but its units were sold again meanwhile. Not
 * permanent: after its retries it waits in the dead letters until an operator restocks and redrives.
 */
export const expiredReservationShort = (orderId: string, skus: readonly string[]) =>
  new AppError(
    'INVENTORY_EXPIRED_RESERVATION_SHORT',
    `order ${orderId} was confirmed after its reservation expired, and ${skus.join(', ')} no longer has the units`,
    { kind: 'conflict', details: { orderId, skus } },
  );
