import { secondsBetween, type Telemetry } from '@orderly/platform';
import type { Order } from '../domain/order.js';

/**
 * The order service's business metrics, through the platform's telemetry: orders placed,
 * confirmed and cancelled (by reason), and how long sagas take from placement to a terminal state.
 */
export interface OrderMetrics {
  readonly placed: (order: Order) => void;
  /** A saga reached CONFIRMED or CANCELLED (its last history entry is the terminal one). */
  readonly finished: (order: Order) => void;
  /** Sagas the sweeper cancelled because no answer came in time. */
  readonly timedOut: (count: number) => void;
}

export function orderMetrics(
  telemetry: Pick<Telemetry, 'meter' | 'durationHistogram'>,
): OrderMetrics {
  const placed = telemetry.meter.createCounter('orders.placed', {
    unit: '{order}',
    description: 'Orders accepted (idempotent replays not counted).',
  });
  const confirmed = telemetry.meter.createCounter('orders.confirmed', {
    unit: '{order}',
    description: 'Orders whose saga ended CONFIRMED.',
  });
  const cancelled = telemetry.meter.createCounter('orders.cancelled', {
    unit: '{order}',
    description: 'Orders whose saga ended CANCELLED, by order.cancellation_reason.',
  });
  const sagaDuration = telemetry.durationHistogram(
    'orders.saga.duration',
    'Time from placing an order to its terminal state, by order.status.',
  );
  return {
    placed: () => placed.add(1),
    finished: (order) => {
      if (order.status === 'CONFIRMED') confirmed.add(1);
      else if (order.status === 'CANCELLED') {
        cancelled.add(1, {
          'order.cancellation_reason': order.cancellationReason ?? 'UNSPECIFIED',
        });
      } else return;
      const terminalAt = order.history.at(-1)?.at ?? order.placedAt;
      sagaDuration.record(secondsBetween(order.placedAt, terminalAt), {
        'order.status': order.status,
      });
    },
    timedOut: (count) => cancelled.add(count, { 'order.cancellation_reason': 'TIMED_OUT' }),
  };
}
