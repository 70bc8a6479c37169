import { invalidReservationTransition } from './inventory-errors.js';

/**
 * Reservations: stock held for one order, all lines or none. An order has at most one reservation
 * (a CANCELLED row without lines is the tombstone of an order cancelled before it was reserved).
 * The order's saga owns the reservation's lifetime: its stock is sold by OrderConfirmed and released
 * by OrderCancelled (the saga's own timeout cancels a stuck order), never on inventory's clock. A
 * reservation held past `reservationTtlMs` is only reported as stale (a sign of a stuck saga).
 * EXPIRED is a legacy status: the expiry sweep of earlier versions released stock on its own.
 * RETURNED is a CONFIRMED reservation whose order the customer cancelled afterwards: its sold
 * units are available again.
 */

export const reservationStatuses = [
  'RESERVED',
  'CONFIRMED',
  'CANCELLED',
  'EXPIRED',
  'REJECTED',
  'RETURNED',
] as const;
export type ReservationStatus = (typeof reservationStatuses)[number];

const allowedTransitions: Readonly<Record<ReservationStatus, readonly ReservationStatus[]>> = {
  RESERVED: ['CONFIRMED', 'CANCELLED', 'EXPIRED'],
  // The customer cancelled the confirmed order: the sold units come back.
  CONFIRMED: ['RETURNED'],
  CANCELLED: [],
  // Legacy: an EXPIRED reservation (released by the old expiry sweep) re-takes its units when its
  // order is confirmed after all; nothing makes new EXPIRED reservations any more.
  EXPIRED: ['CONFIRMED'],
  REJECTED: [],
  RETURNED: [],
};

export function isReservationStatus(value: string): value is ReservationStatus {
  return (reservationStatuses as readonly string[]).includes(value);
}

/**
 * RESERVED → CONFIRMED | CANCELLED | EXPIRED, CONFIRMED → RETURNED, EXPIRED → CONFIRMED; every
 * other status is final.
 */
export function canTransition(from: ReservationStatus, to: ReservationStatus): boolean {
  return allowedTransitions[from].includes(to);
}

export function assertTransition(
  reservationId: string,
  from: ReservationStatus,
  to: ReservationStatus,
): void {
  if (!canTransition(from, to)) throw invalidReservationTransition(reservationId, from, to);
}

/** Units of one SKU: a line of an order as inventory sees it, or one a reservation holds. */
export interface StockLine {
  readonly sku: string;
  readonly quantity: number;
}

/** What a reservation needs to know about a product, read under a row lock. */
export interface ReservableProduct {
  readonly sku: string;
  readonly priceCents: bigint;
  readonly currency: string;
  readonly available: number;
}

export interface PricedLine {
  readonly sku: string;
  readonly quantity: number;
  readonly unitPriceCents: bigint;
}

/**
 * Why an order got no stock. `UNKNOWN_SKU` wins over `OUT_OF_STOCK` when both apply;
 * `INVALID_LINES` means the order had no lines or a quantity below one.
 */
export type RejectionReason =
  | 'OUT_OF_STOCK'
  | 'UNKNOWN_SKU'
  | 'INVALID_LINES'
  | 'ORDER_ALREADY_SETTLED'
  /** A product is priced in another currency than the order's (or than the other lines'). */
  | 'CURRENCY_MISMATCH';

export type ReservationDecision =
  | {
      readonly outcome: 'reserved';
      readonly lines: readonly PricedLine[];
      readonly totalCents: bigint;
      /** The currency of every unit price and of the total. */
      readonly currency: string;
    }
  | {
      readonly outcome: 'rejected';
      readonly reason: RejectionReason;
      readonly skus: readonly string[];
    };

/** One line per SKU (quantities of repeated SKUs added up), in SKU order. */
export function mergeOrderLines(lines: readonly StockLine[]): StockLine[] {
  const bySku = new Map<string, number>();
  for (const line of lines) bySku.set(line.sku, (bySku.get(line.sku) ?? 0) + line.quantity);
  return [...bySku.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([sku, quantity]) => ({ sku, quantity }));
}

/**
 * All or nothing: every line is reserved at the product's current price, or none is and the
 * decision names the SKUs that were unknown or short. Never reserves more than `available`.
 * Every product must be priced in the order's `currency` (when the order names none, in one
 * currency, which becomes the reservation's); a product in another is CURRENCY_MISMATCH.
 */
export function decideReservation(
  lines: readonly StockLine[],
  productsBySku: ReadonlyMap<string, ReservableProduct>,
  currency = '',
): ReservationDecision {
  const invalid = lines.filter((line) => !Number.isInteger(line.quantity) || line.quantity < 1);
  if (lines.length === 0 || invalid.length > 0) {
    return {
      outcome: 'rejected',
      reason: 'INVALID_LINES',
      skus: uniqueSorted(invalid.map((l) => l.sku)),
    };
  }
  const merged = mergeOrderLines(lines);
  const unknown: string[] = [];
  const short: string[] = [];
  const priced: PricedLine[] = [];
  for (const line of merged) {
    const product = productsBySku.get(line.sku);
    if (!product) unknown.push(line.sku);
    else if (product.available < line.quantity) short.push(line.sku);
    else
      priced.push({ sku: line.sku, quantity: line.quantity, unitPriceCents: product.priceCents });
  }
  if (unknown.length > 0)
    return {
      outcome: 'rejected',
      reason: 'UNKNOWN_SKU',
      skus: uniqueSorted([...unknown, ...short]),
    };
  const orderCurrency = currency || productsBySku.get(merged[0]!.sku)!.currency;
  const foreign = merged.filter((line) => productsBySku.get(line.sku)!.currency !== orderCurrency);
  if (foreign.length > 0)
    return { outcome: 'rejected', reason: 'CURRENCY_MISMATCH', skus: foreign.map((l) => l.sku) };
  if (short.length > 0) {
    return { outcome: 'rejected', reason: 'OUT_OF_STOCK', skus: uniqueSorted(short) };
  }
  const totalCents = priced.reduce(
    (sum, line) => sum + line.unitPriceCents * BigInt(line.quantity),
    0n,
  );
  return { outcome: 'reserved', lines: priced, totalCents, currency: orderCurrency };
}

/**
 * OrderPlaced for an order that already has a reservation (a redelivery under a new event id, or
 * a late OrderPlaced after a cancellation tombstone): a live reservation already answered it;
 * anything else answers StockRejected(ORDER_ALREADY_SETTLED) and reserves nothing.
 */
export function decideRepeatedOrderPlaced(status: ReservationStatus): 'ignore' | 'reject' {
  return status === 'RESERVED' || status === 'CONFIRMED' || status === 'RETURNED'
    ? 'ignore'
    : 'reject';
}

/**
 * What OrderConfirmed / OrderCancelled does to the order's reservation (or its absence).
 * - `confirm`: RESERVED → CONFIRMED, the reserved units are sold.
 * - `release`: RESERVED → CANCELLED, the reserved units are available again.
 * - `return`: CONFIRMED → RETURNED, the customer cancelled the confirmed order: its sold units are
 *   available again (OrderCancelled after OrderConfirmed).
 * - `record-tombstone`: no reservation yet; a CANCELLED row without lines makes a late OrderPlaced reserve nothing.
 * - `confirm-expired`: a legacy EXPIRED reservation (its stock released by an earlier version's expiry
 *   sweep) whose order was confirmed after all: EXPIRED → CONFIRMED, its units are taken from
 *   `available` again and sold; when they are no longer available the event fails (and is
 *   dead-lettered) so an operator can restock and redrive it.
 * - `unexpected`: a combination the order state machine never produces (or an OrderConfirmed that
 *   arrives after the cancellation that followed it already released the stock); reported and left
 *   alone.
 * - `ignore`: already settled that way (or with a cancellation that needs nothing).
 */
export type SettlementAction =
  | 'confirm'
  | 'release'
  | 'return'
  | 'record-tombstone'
  | 'confirm-expired'
  | 'unexpected'
  | 'ignore';

export function decideSettlement(
  outcome: 'confirmed' | 'cancelled',
  status: ReservationStatus | undefined,
): SettlementAction {
  if (outcome === 'confirmed') {
    switch (status) {
      case 'RESERVED':
        return 'confirm';
      case 'CONFIRMED':
      case 'RETURNED':
        return 'ignore';
      case 'EXPIRED':
        return 'confirm-expired';
      default:
        return 'unexpected';
    }
  }
  switch (status) {
    case undefined:
      return 'record-tombstone';
    case 'RESERVED':
      return 'release';
    case 'CONFIRMED':
      return 'return';
    default:
      return 'ignore';
  }
}

/** An OrderPlaced to decide: its order and lines. */
export interface ReservationRequest {
  readonly orderId: string;
  readonly lines: readonly StockLine[];
  /** The currency the customer pays in; empty: whatever one currency the products are in. */
  readonly currency?: string;
}

/** What one OrderPlaced of a run does. */
export type ReservationStep =
  /** A new reservation: RESERVED with its lines, or REJECTED. */
  | {
      readonly kind: 'decided';
      readonly reservationId: string;
      readonly decision: ReservationDecision;
    }
  /** The order has a live reservation already: nothing is written, nothing is answered. */
  | { readonly kind: 'ignore'; readonly reservationId: string }
  /** The order's reservation is settled: StockRejected(ORDER_ALREADY_SETTLED), nothing written. */
  | { readonly kind: 'already-settled'; readonly status: ReservationStatus };

/**
 * Decides a run of OrderPlaced events in delivery order, exactly as if each had been applied on
 * its own after the previous one committed: an earlier order takes the stock first, and an order
 * decided earlier in the run has its reservation for the later ones. `reservationsByOrder` and
 * `productsBySku` are the state before the run (read under lock); `newId` names new reservations.
 */
export function decideReservations(
  requests: readonly ReservationRequest[],
  reservationsByOrder: ReadonlyMap<
    string,
    { readonly id: string; readonly status: ReservationStatus }
  >,
  productsBySku: ReadonlyMap<string, ReservableProduct>,
  newId: () => string,
): ReservationStep[] {
  const reservations = new Map(reservationsByOrder);
  const products = new Map(productsBySku);
  return requests.map(({ orderId, lines, currency }): ReservationStep => {
    const existing = reservations.get(orderId);
    if (existing) {
      return decideRepeatedOrderPlaced(existing.status) === 'ignore'
        ? { kind: 'ignore', reservationId: existing.id }
        : { kind: 'already-settled', status: existing.status };
    }
    const decision = decideReservation(lines, products, currency);
    const reservationId = newId();
    reservations.set(orderId, {
      id: reservationId,
      status: decision.outcome === 'reserved' ? 'RESERVED' : 'REJECTED',
    });
    if (decision.outcome === 'reserved') {
      for (const line of decision.lines) {
        const product = products.get(line.sku)!;
        products.set(line.sku, { ...product, available: product.available - line.quantity });
      }
    }
    return { kind: 'decided', reservationId, decision };
  });
}

/** An order's reservation as a settlement sees it. */
export interface HeldReservation {
  readonly id: string;
  readonly status: ReservationStatus;
  readonly lines: readonly StockLine[];
}

export interface SettlementRequest {
  readonly orderId: string;
  readonly outcome: 'confirmed' | 'cancelled';
}

/** What one OrderConfirmed / OrderCancelled of a run does (the actions of decideSettlement). */
export type SettlementStep =
  /** The reservation goes `from` → `to`; its lines' units are sold, released, returned or taken again. */
  | {
      readonly action: 'confirm' | 'release' | 'return' | 'confirm-expired';
      readonly reservationId: string;
      readonly from: ReservationStatus;
      readonly to: ReservationStatus;
      readonly lines: readonly StockLine[];
    }
  | { readonly action: 'record-tombstone'; readonly reservationId: string }
  /** A legacy EXPIRED reservation whose units are no longer available: the event must fail. */
  | { readonly action: 'expired-short'; readonly reservationId: string; readonly skus: string[] }
  | { readonly action: 'unexpected' | 'ignore'; readonly status: ReservationStatus | undefined };

const settledStatus = {
  confirm: 'CONFIRMED',
  release: 'CANCELLED',
  return: 'RETURNED',
} as const satisfies Record<string, ReservationStatus>;

/**
 * Decides a run of settlements in delivery order, as if each had been applied on its own after
 * the previous one committed (a second cancellation of one order in the run finds it cancelled).
 * `reservationsByOrder` and `availableBySku` are the state before the run (read under lock);
 * `newId` names tombstones.
 */
export function decideSettlements(
  requests: readonly SettlementRequest[],
  reservationsByOrder: ReadonlyMap<string, HeldReservation>,
  availableBySku: ReadonlyMap<string, number>,
  newId: () => string,
): SettlementStep[] {
  const reservations = new Map(reservationsByOrder);
  const available = new Map(availableBySku);
  const addAvailable = (lines: readonly StockLine[], sign: 1 | -1) => {
    for (const line of lines)
      available.set(line.sku, (available.get(line.sku) ?? 0) + sign * line.quantity);
  };
  return requests.map(({ orderId, outcome }): SettlementStep => {
    const reservation = reservations.get(orderId);
    const action = decideSettlement(outcome, reservation?.status);
    switch (action) {
      case 'confirm':
      case 'release':
      case 'return': {
        // decideSettlement only answers these for an existing RESERVED (or, to return, CONFIRMED)
        // reservation.
        const { id, status, lines } = reservation!;
        const to = settledStatus[action];
        assertTransition(id, status, to);
        reservations.set(orderId, { id, status: to, lines });
        if (action !== 'confirm') addAvailable(lines, 1);
        return { action, reservationId: id, from: status, to, lines };
      }
      case 'confirm-expired': {
        const { id, status, lines } = reservation!;
        const short = lines
          .filter((line) => (available.get(line.sku) ?? 0) < line.quantity)
          .map((line) => line.sku);
        if (short.length > 0) return { action: 'expired-short', reservationId: id, skus: short };
        assertTransition(id, status, 'CONFIRMED');
        reservations.set(orderId, { id, status: 'CONFIRMED', lines });
        addAvailable(lines, -1);
        return { action, reservationId: id, from: status, to: 'CONFIRMED', lines };
      }
      case 'record-tombstone': {
        const reservationId = newId();
        reservations.set(orderId, { id: reservationId, status: 'CANCELLED', lines: [] });
        return { action, reservationId };
      }
      case 'unexpected':
      case 'ignore':
        return { action, status: reservation?.status };
    }
  });
}

/**
 * When a reservation made (or last reported) at `now` is reported as stale if still RESERVED. It
 * keeps holding its stock after that: only its order's saga settles it.
 */
export function reservationExpiresAt(now: Date, reservationTtlMs: number): Date {
  return new Date(now.getTime() + reservationTtlMs);
}

/** The start-up rule between the two services' timeouts (see reservationTtlProblem). */
export interface SagaTimeouts {
  readonly reservationTtlMs: number;
  readonly sagaTimeoutMs: number;
  readonly sagaSweepIntervalMs: number;
}

/**
 * A reservation is reported as stale only when its saga should have ended already: the order's
 * sweeper cancels a saga at most `sagaTimeoutMs + sagaSweepIntervalMs` after it was placed. A TTL
 * at or below that would report healthy sagas. Returns the rule broken, or undefined.
 */
export function reservationTtlProblem(timeouts: SagaTimeouts): string | undefined {
  const bound = timeouts.sagaTimeoutMs + timeouts.sagaSweepIntervalMs;
  if (timeouts.reservationTtlMs > bound) return undefined;
  return (
    `must be greater than services.order.sagaTimeoutMs (${timeouts.sagaTimeoutMs}) + ` +
    `services.order.sagaSweepIntervalMs (${timeouts.sagaSweepIntervalMs}) = ${bound}`
  );
}

function uniqueSorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort();
}
