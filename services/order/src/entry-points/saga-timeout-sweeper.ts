import type { Logger } from '@orderly/platform';
import type { SagaStep } from '../domain/fulfillment-saga.js';
import type { OrderDeps } from '../data-access/order-store.js';
import { cancelTimedOutOrders } from '../use-cases/cancel-timed-out-orders.js';
import { sagaStepEvents } from './order-event-mapping.js';

/** A periodic pass that cancels sagas which got no answer in time (compensation follows by event). */
export function sagaTimeoutSweeper(
  deps: OrderDeps,
  log: Logger,
  settings: () => { timeoutMs: number; batchSize: number },
  onTimedOut?: (count: number) => void,
) {
  return async () => {
    const { timeoutMs, batchSize } = settings();
    let steps: readonly SagaStep[];
    do {
      const now = deps.clock();
      steps = await deps.transaction(async (store, tx) => {
        const taken = await cancelTimedOutOrders(store, timeoutMs, batchSize, now);
        await deps.outbox.addPrepared(tx, sagaStepEvents(deps.outbox, taken));
        return taken;
      });
      for (const step of steps) {
        const orderId = step.kind === 'advanced' ? step.order.id : step.orderId;
        log.warn({ orderId, timeoutMs }, 'saga timed out, order cancelled');
      }
      if (steps.length > 0) onTimedOut?.(steps.length);
    } while (steps.length === batchSize);
  };
}
