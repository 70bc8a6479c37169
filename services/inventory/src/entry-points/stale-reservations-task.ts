import type { Database, Logger, Telemetry } from '@orderly/platform';
import { reservationExpiresAt } from '../domain/reservation.js';
import {
  countReservationsHeldSince,
  markStaleReservationsReported,
} from '../data-access/reservation-repository.js';

export const staleReservationsTask = 'inventory.report-stale-reservations';

export interface StaleReservationsDeps {
  readonly db: Database;
  readonly log: Logger;
  readonly clock: () => Date;
  readonly reservationTtlMs: number;
  readonly batchSize: number;
}

/**
 * The stale-reservation metrics: `inventory.reservations.stale` (reservations held longer than
 * reservationTtlMs at the last sweep) and `inventory.reservations.stale_reported` (warnings logged).
 */
export function staleReservationMetrics(telemetry: Pick<Telemetry, 'meter'>) {
  let stale = 0;
  telemetry.meter
    .createObservableGauge('inventory.reservations.stale', {
      unit: '{reservation}',
      description:
        'Reservations still RESERVED longer than reservationTtlMs: their order sagas look stuck.',
    })
    .addCallback((result) => result.observe(stale));
  const reported = telemetry.meter.createCounter('inventory.reservations.stale_reported', {
    unit: '{reservation}',
    description: 'Stale reservations reported with a warning (each once per reservationTtlMs).',
  });
  return {
    setStale: (count: number) => {
      stale = count;
    },
    reported: (count: number) => reported.add(count),
  };
}

/**
 * Reports reservations held longer than reservationTtlMs, and never releases their stock: the
 * order's saga owns the reservation (OrderConfirmed sells it; OrderCancelled, also sent by the
 * saga's own timeout, releases it). A stale one means a stuck saga or a dead-lettered settlement:
 * each is logged as a warning once per TTL, and the gauge counts them all. Returns how many were logged.
 */
export async function reportStaleReservations(
  deps: StaleReservationsDeps,
  metrics: ReturnType<typeof staleReservationMetrics>,
): Promise<number> {
  const now = deps.clock();
  let total = 0;
  for (;;) {
    const reported = await deps.db.transaction((tx) =>
      markStaleReservationsReported(
        tx,
        now,
        reservationExpiresAt(now, deps.reservationTtlMs),
        deps.batchSize,
      ),
    );
    for (const r of reported)
      deps.log.warn(
        {
          orderId: r.orderId,
          reservationId: r.id,
          heldMs: now.getTime() - r.createdAt.getTime(),
          reservationTtlMs: deps.reservationTtlMs,
        },
        'reservation held longer than its TTL, order saga looks stuck',
      );
    total += reported.length;
    if (reported.length < deps.batchSize) break;
  }
  if (total > 0) metrics.reported(total);
  const cutoff = new Date(now.getTime() - deps.reservationTtlMs);
  metrics.setStale(await deps.db.transaction((tx) => countReservationsHeldSince(tx, cutoff)));
  return total;
}
