import { Code, ConnectError, type Client } from '@connectrpc/connect';
import type { MessageInitShape } from '@bufbuild/protobuf';
import type {
  OrderService,
  PlaceOrderRequestSchema,
  PlaceOrderResponse,
  PlaceOrderResult,
} from '@orderly/order-contract/order_service';
import {
  captureTrace,
  errorCodeHeader,
  GroupCommit,
  sheddingHeader,
  type CapturedTrace,
  type GroupCommitOptions,
} from '@orderly/platform';

type PlaceOrderInit = MessageInitShape<typeof PlaceOrderRequestSchema>;

interface Placement {
  readonly request: PlaceOrderInit;
  readonly options: { readonly signal: AbortSignal; readonly timeoutMs: number };
  /** The request's trace: a batch of one is sent in it, a larger batch carries it per order. */
  readonly trace: CapturedTrace;
}

/**
 * The gateway→order intake hop, batched: PlaceOrder requests that arrive together share one
 * PlaceOrders call (like the order service's group commit they feed), so under load the cost of a
 * hop — HTTP, Connect framing, telemetry, the caller's token — is paid once per batch, not per
 * order. A request that finds a free slot goes at once as a plain PlaceOrder: an idle system adds
 * no latency and keeps one span per order. Each order still answers on its own, with exactly the
 * error a PlaceOrder call would have given, and within its own request's deadline.
 */
export class OrderIntakeBatcher {
  private readonly batches: GroupCommit<Placement, PlaceOrderResponse>;

  constructor(
    private readonly client: Client<typeof OrderService>,
    options: () => GroupCommitOptions,
  ) {
    this.batches = new GroupCommit(options, (placements) => this.send(placements));
  }

  place(
    request: PlaceOrderInit,
    options: { signal: AbortSignal; timeoutMs: number },
  ): Promise<PlaceOrderResponse> {
    const placed = this.batches.submit({ request, options, trace: captureTrace() });
    // The batch may outlive this request's budget; the request stops waiting when its own ends.
    return untilAborted(placed, options.signal);
  }

  private async send(
    placements: readonly Placement[],
  ): Promise<readonly (PlaceOrderResponse | Error)[]> {
    const [first] = placements;
    if (placements.length === 1 && first) {
      return [await first.trace.run(() => this.client.placeOrder(first.request, first.options))];
    }
    const response = await this.client.placeOrders(
      {
        orders: placements.map((p) => ({
          order: p.request,
          traceContext: p.trace.headers(),
        })),
      },
      // No one request's signal may cancel the others' orders; the longest budget bounds the call.
      { timeoutMs: Math.max(...placements.map((p) => p.options.timeoutMs)) },
    );
    return placements.map((_, index) => outcomeOf(response.results[index]));
  }
}

function outcomeOf(result: PlaceOrderResult | undefined): PlaceOrderResponse | Error {
  const outcome = result?.outcome;
  if (outcome?.case === 'placed') return outcome.value;
  if (outcome?.case === 'error') {
    const error = outcome.value;
    // Rebuilt as the ConnectError a PlaceOrder call would have raised, so callers map it the same way.
    return new ConnectError(error.message, error.connectCode, {
      [errorCodeHeader]: error.errorCode,
      ...(error.shedding ? { [sheddingHeader]: '1' } : {}),
    });
  }
  return new ConnectError('PlaceOrders returned no result for an order', Code.Internal);
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(abortReason(signal));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('the request was aborted');
}
