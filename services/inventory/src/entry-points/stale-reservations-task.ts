import type { Database, Logger, Telemetry } from '@orderly/platform';
import { inventoryStore } from '../data-access/inventory-store.js';
import {
  reportStaleReservations as report,
  type StaleReservationFigures,
} from '../use-cases/report-stale-reservations.js';

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
export function staleReservationMetrics(
  telemetry: Pick<Telemetry, 'meter'>,
): StaleReservationFigures {
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
 * One run of the task: the report (use-cases/report-stale-reservations.ts), each batch in a
 * transaction of its own. Returns how many reservations were logged.
 */
export function reportStaleReservations(
  deps: StaleReservationsDeps,
  metrics: StaleReservationFigures,
): Promise<number> {
  return report(
    (work) => deps.db.transaction((tx) => work(inventoryStore(tx))),
    deps.log,
    metrics,
    deps.clock(),
    deps.reservationTtlMs,
    deps.batchSize,
  );
}
