import {
  captureTrace,
  deadlineExceeded,
  GroupCommit,
  type CapturedTrace,
  type DeadlineOptions,
} from '@orderly/platform';
import type { OrderRequest } from '../domain/order-request.js';
import type { OrderDeps } from '../data-access/order-store.js';
import { placeOrders, type PlacedOrder } from '../use-cases/place-orders.js';
import { prepareOrderEvent } from './order-event-mapping.js';

interface Placement {
  readonly request: OrderRequest;
  /** The caller's trace: its order's OrderPlaced continues it. */
  readonly trace: CapturedTrace;
  readonly signal: AbortSignal | undefined;
}

/**
 * Group commit for new orders: concurrent PlaceOrder calls (and the orders of a PlaceOrders call)
 * share one transaction — one statement each for orders, lines, history and outbox rows, and one
 * commit — instead of one of each per order. Returns the function that places one checked request.
 */
export function orderIntake(
  deps: OrderDeps,
): (request: OrderRequest, deadline?: DeadlineOptions) => Promise<PlacedOrder> {
  const batches = new GroupCommit<Placement, PlacedOrder>(deps.groupCommit, (placements) =>
    deps.transaction(async (store, tx) => {
      // A caller whose deadline passed while it waited for the batch is answered, not recorded.
      const live = placements.filter((p) => !p.signal?.aborted);
      const outcomes = await placeOrders(
        store,
        live.map((p) => p.request),
        deps.newId,
        deps.clock(),
      );
      const orderPlaced = live.flatMap((placement, index) => {
        const outcome = outcomes[index];
        if (!outcome || outcome instanceof Error || outcome.replayed) return [];
        return [
          placement.trace.run(() => prepareOrderEvent(deps.outbox, outcome.order, 'OrderPlaced')),
        ];
      });
      await deps.outbox.addPrepared(tx, orderPlaced);
      const outcomeOf = new Map(live.map((placement, index) => [placement, outcomes[index]!]));
      return placements.map((p) =>
        p.signal?.aborted ? deadlineExceeded('PlaceOrder', p.signal.reason) : outcomeOf.get(p)!,
      );
    }),
  );
  return (request, deadline) =>
    batches.submit({ request, trace: captureTrace(), signal: deadline?.signal });
}
