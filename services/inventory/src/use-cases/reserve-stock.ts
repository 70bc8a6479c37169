import { randomUUID } from 'node:crypto';
import type { InventoryStore, NewReservation } from '../domain/inventory-store.js';
import { reserveMovement, type StockMovement } from '../domain/product.js';
import {
  decideReservations,
  reservationExpiresAt,
  type PricedLine,
  type RejectionReason,
  type ReservationRequest,
  type ReservationStatus,
} from '../domain/reservation.js';

export type ReserveStockStore = Pick<
  InventoryStore,
  'lockReservationsOfOrders' | 'lockProducts' | 'writeReservations' | 'applyStockMovements'
>;

/** What became of one order of the run. */
export type ReserveStockOutcome =
  /** All lines are held until the order's saga settles the reservation: StockReserved. */
  | {
      readonly kind: 'reserved';
      readonly orderId: string;
      readonly reservationId: string;
      readonly lines: readonly PricedLine[];
      readonly totalCents: bigint;
      readonly currency: string;
      /** When the reservation is reported as stale if still held (it keeps its stock). */
      readonly expiresAt: Date;
    }
  /** Nothing is held; a REJECTED reservation records it: StockRejected. */
  | {
      readonly kind: 'rejected';
      readonly orderId: string;
      readonly reason: RejectionReason;
      readonly skus: readonly string[];
    }
  /** The order has a live reservation already: nothing written, nothing to answer. */
  | { readonly kind: 'already-reserved'; readonly orderId: string; readonly reservationId: string }
  /** The order's reservation is settled: nothing written, StockRejected(ORDER_ALREADY_SETTLED). */
  | {
      readonly kind: 'already-settled';
      readonly orderId: string;
      readonly status: ReservationStatus;
    };

/**
 * Reserves stock for a run of placed orders (a batch; one order alone is a run of one): each
 * order gets all its lines or none. The run's orders and the stock rows they need are locked,
 * every order is decided in memory in the given order — an earlier order takes the stock first,
 * as if applied alone — and the results are written with one statement per table. Returns one
 * outcome per request, in request order.
 */
export async function reserveStock(
  store: ReserveStockStore,
  requests: readonly ReservationRequest[],
  now: Date,
  reservationTtlMs: number,
): Promise<ReserveStockOutcome[]> {
  const existing = await store.lockReservationsOfOrders(requests.map((r) => r.orderId));
  const products = await store.lockProducts(
    requests.filter((r) => !existing.has(r.orderId)).flatMap((r) => r.lines.map((l) => l.sku)),
  );
  const steps = decideReservations(requests, existing, products, randomUUID);

  const expiresAt = reservationExpiresAt(now, reservationTtlMs);
  const inserts: NewReservation[] = [];
  const movements: StockMovement[] = [];
  const outcomes = steps.map((step, index): ReserveStockOutcome => {
    const { orderId } = requests[index]!;
    if (step.kind === 'ignore')
      return { kind: 'already-reserved', orderId, reservationId: step.reservationId };
    if (step.kind === 'already-settled')
      return { kind: 'already-settled', orderId, status: step.status };
    const { decision, reservationId } = step;
    if (decision.outcome === 'rejected') {
      inserts.push({
        id: reservationId,
        orderId,
        status: 'REJECTED',
        createdAt: now,
        settledAt: now,
      });
      return { kind: 'rejected', orderId, reason: decision.reason, skus: decision.skus };
    }
    inserts.push({
      id: reservationId,
      orderId,
      status: 'RESERVED',
      createdAt: now,
      expiresAt,
      lines: decision.lines,
    });
    for (const line of decision.lines) movements.push(reserveMovement(line.sku, line.quantity));
    return {
      kind: 'reserved',
      orderId,
      reservationId,
      lines: decision.lines,
      totalCents: decision.totalCents,
      currency: decision.currency,
      expiresAt,
    };
  });

  await store.writeReservations({ inserts, transitions: [] }, now);
  await store.applyStockMovements(movements, now);
  return outcomes;
}
