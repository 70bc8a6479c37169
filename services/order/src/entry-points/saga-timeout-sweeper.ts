import type { Logger } from '@orderly/platform';
import { cancelTimedOutSagas } from '../domain/fulfillment-saga.js';
import type { OrderDeps } from '../domain/order-store.js';

/** A periodic pass that cancels sagas which got no answer in time (compensation follows by event). */
export function sagaTimeoutSweeper(
  deps: OrderDeps,
  log: Logger,
  settings: () => { timeoutMs: number; batchSize: number },
  onTimedOut?: (count: number) => void,
) {
  return async () => {
    const { timeoutMs, batchSize } = settings();
    let cancelled: string[];
    do {
      cancelled = await cancelTimedOutSagas(deps, timeoutMs, batchSize);
      for (const orderId of cancelled)
        log.warn({ orderId, timeoutMs }, 'saga timed out, order cancelled');
      if (cancelled.length > 0) onTimedOut?.(cancelled.length);
    } while (cancelled.length === batchSize);
  };
}
